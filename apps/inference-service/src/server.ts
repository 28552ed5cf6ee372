import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createService, type Service, type ServiceOptions } from './service.ts';

export interface RunningService extends Service {
  url: string;
  port: number;
  /**
   * Graceful stop: not ready, finish in-flight requests (up to the grace time), then cut what is
   * left (a stream cut this way ends without [DONE], never as if complete), close the pools and
   * stores.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the service on `config.host:config.port` (port 0 picks a free one). */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const service = createService(options);
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: service.app.fetch, hostname: options.config.host, port: options.config.port }, () => {
        s.off('error', reject);
        resolve(s);
      });
      // A port in use or not allowed is the caller's error to report, not an unhandled 'error' event.
      s.once('error', reject);
    });
  } catch (error) {
    await service.close(0);
    const code = (error as { code?: string }).code;
    const where = `${options.config.host}:${options.config.port}`;
    throw new Error(code === 'EADDRINUSE' ? `${where} is already in use (set PORT or --port)` : `cannot listen on ${where}: ${(error as Error).message}`, { cause: error });
  }
  // Keep-alive longer than typical load balancer idle timeouts, so they close first.
  const http = server as import('node:http').Server;
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const { port } = server.address() as AddressInfo;
  const host = options.config.host.includes(':') ? `[${options.config.host}]` : options.config.host;
  let stopping: Promise<void> | undefined;
  return {
    ...service,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    stop(graceMs) {
      stopping ??= (async () => {
        service.drain();
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        // Cut before the pools close: a cut request aborts its upstream call, and closing a pool
        // waits for its calls (a stream could otherwise run on to its model's total timeout).
        if (!(await service.settle(graceMs))) http.closeAllConnections();
        await service.close(0);
        http.closeAllConnections();
        await closed;
      })();
      return stopping;
    },
  };
}
