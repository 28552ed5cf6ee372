#!/usr/bin/env node
// The floor any Node gateway can reach: node:http in, an undici keep-alive Pool
// out, no validation, no auth, no logging; bodies streamed both ways.
// Usage: node bench/bare-proxy.ts --upstream http://127.0.0.1:PORT [--port N]
// Prints its URL on stdout.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

/** Same as the service's default upstream pool (the agreement's defaults.pool). */
const POOL_CONNECTIONS = 100;
/** Headers that describe one hop, not the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te', 'trailer']);

const { values } = parseArgs({ options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!values.upstream) throw new Error('--upstream is required');
const pool = new Pool(values.upstream, { connections: POOL_CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const server = createServer(async (req, res) => {
  try {
    const upstream = await pool.request({
      method: req.method as 'POST',
      path: req.url ?? '/',
      headers: forwardable(req.headers),
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    });
    res.writeHead(upstream.statusCode, forwardable(upstream.headers));
    await pipeline(upstream.body, res);
  } catch (error) {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `bare proxy: ${(error as Error).message}` } }));
    } else res.destroy();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`http://127.0.0.1:${address.port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    void pool.close().finally(() => process.exit(0));
  });
}
