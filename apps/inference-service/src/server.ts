import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createService, type Service, type ServiceOptions } from './service.ts';

export interface RunningService extends Service {
  url: string;
  port: number;
  /** Graceful stop: not ready, finish in-flight requests (up to the grace time), close the socket and pools. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the service on `config.host:config.port` (port 0 picks a free one). */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const service = createService(options);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: service.app.fetch, hostname: options.config.host, port: options.config.port }, () => resolve(s));
  });
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
        await service.close(graceMs);
        http.closeAllConnections();
        await closed;
      })();
      return stopping;
    },
  };
}
