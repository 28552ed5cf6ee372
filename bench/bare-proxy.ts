#!/usr/bin/env node
// The floor any Node gateway can reach: node:http in, an undici keep-alive Pool
// out, no validation, no auth, no logging. The cheapest correct way for each body:
// the request read whole and sent with its length (a JSON request is small, and
// a gateway that validates needs it whole anyway); an event stream piped through
// as it arrives (so the first chunk is not held back); any other answer read
// whole and sent with its length. Streaming every body both ways cost this proxy
// 1.6-1.9x the CPU per small request (bench/README.md, session 6).
// Usage: node bench/bare-proxy.ts --upstream http://127.0.0.1:PORT [--port N]
// Prints its URL on stdout.
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
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

/** The request body whole. Written out rather than stream/consumers' `buffer()`, which reads through an async iterator: the floor should not pay for one. */
function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const server = createServer(async (req, res) => {
  try {
    const body = req.method === 'GET' || req.method === 'HEAD' ? null : await readAll(req);
    const upstream = await pool.request({
      method: req.method as 'POST',
      path: req.url ?? '/',
      headers: forwardable(req.headers),
      body,
    });
    const headers = forwardable(upstream.headers);
    if (String(upstream.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      res.writeHead(upstream.statusCode, headers);
      await pipeline(upstream.body, res);
      return;
    }
    const answer = Buffer.from(await upstream.body.arrayBuffer());
    headers['content-length'] = String(answer.length);
    res.writeHead(upstream.statusCode, headers);
    res.end(answer);
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
