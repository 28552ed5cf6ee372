// Test support: a hand-written upstream on 127.0.0.1, for the faults a simulator scenario
// does not cover (endless bodies, chunk floods, pool behaviour). Not imported by production code.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface LoopbackUpstream {
  /** http://127.0.0.1:<port> */
  url: string;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

/** Starts a server whose `answer` runs once each request's body has been read. */
export async function startLoopbackUpstream(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<LoopbackUpstream> {
  let connections = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
