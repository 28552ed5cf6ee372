import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRoutes, requestHeader, type Handlers } from './index.ts';

// @hono/node-server 2.1.9 with hono 4.13.19: the generated stubs over real HTTP on 127.0.0.1.
const handlers: Handlers = {
  createChatCompletion: () => ({
    status: 200,
    sse: new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: [DONE]\n\n'));
        controller.close();
      },
    }),
  }),
  listModels: () => ({ status: 200, body: { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'sim' }] } }),
  getModel: () => ({ status: 200, body: { id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'sim' } }),
  getJob: () => ({ status: 404, body: { error: { code: 'job_not_found', message: 'No such job.', type: 'not_found_error', param: null } } }),
  getHealth: () => ({ status: 200, body: { status: 'ok' } }),
  getReadiness: () => ({ status: 200, body: { status: 'ready', checks: [] } }),
};

let server: ServerType;
let base: string;
beforeAll(async () => {
  const app = registerRoutes(new Hono(), handlers, { validateResponses: true });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('generated routes on @hono/node-server', () => {
  it('serves JSON', async () => {
    const res = await fetch(`${base}/v1/models`);
    expect(res.status).toBe(200);
    expect((await res.json()).data[0].id).toBe('gpt-4o-mini');
  });
  it('streams SSE', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true }) });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('data: [DONE]\n\n');
  });
  it('answers 415 over the wire', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(res.status).toBe(415);
  });
});

describe('ownResponseHeaders', () => {
  // A route whose result carries headers, behind a middleware that sets one with c.header() first.
  async function answer(ownResponseHeaders: boolean | undefined): Promise<Headers> {
    const app = new Hono();
    app.use('*', async (c, next) => {
      c.header('x-before', 'middleware');
      await next();
    });
    const withHeaders: Handlers = {
      ...handlers,
      getHealth: () => ({ status: 200, body: { status: 'ok' }, headers: { 'x-limit': '10', 'x-remaining': '9' } }),
    };
    registerRoutes(app, withHeaders, { ownResponseHeaders });
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
      return res.headers;
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  it('off (the default): the result headers and those set with c.header() before the handler', async () => {
    const h = await answer(undefined);
    expect([h.get('x-limit'), h.get('x-remaining'), h.get('x-before')]).toEqual(['10', '9', 'middleware']);
    expect(h.get('content-type')).toMatch(/^application\/json/);
  });

  it('on: exactly the result headers and the content type, with a content length', async () => {
    const h = await answer(true);
    expect([h.get('x-limit'), h.get('x-remaining'), h.get('x-before')]).toEqual(['10', '9', null]);
    expect(h.get('content-type')).toMatch(/^application\/json/);
    expect(h.get('content-length')).toBe(String(JSON.stringify({ status: 'ok' }).length));
  });
});

describe('requestHeader', () => {
  // A raw request, so header lines can repeat exactly as written.
  async function headersSeen(lines: string[]): Promise<Record<string, string | null>> {
    const app = new Hono();
    const names = ['x-one', 'x-dup', 'authorization', 'content-type', 'x-absent'];
    app.get('/h', (c) => c.json(Object.fromEntries(names.map((n) => [n, requestHeader(c, n)]))));
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(['GET /h HTTP/1.1', 'Host: x', 'Connection: close', ...lines, '', ''].join('\r\n')));
        let out = '';
        socket.on('data', (d) => (out += d)).on('end', () => resolve(out)).on('error', reject);
      });
      return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, string | null>;
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  it('reads headers as Headers.get does: case-insensitive, null when absent', async () => {
    expect(await headersSeen(['X-One: 1', 'Authorization: Bearer k', 'content-type: application/json'])).toEqual({
      'x-one': '1',
      'x-dup': null,
      authorization: 'Bearer k',
      'content-type': 'application/json',
      'x-absent': null,
    });
  });

  it('joins repeated headers with ", " as Headers.get does, even those Node keeps only the first of', async () => {
    const seen = await headersSeen(['X-One: 1', 'X-Dup: a', 'x-dup: b', 'Authorization: Bearer k1', 'Authorization: Bearer k2', 'Content-Type: text/plain', 'Content-Type: application/json']);
    expect(seen).toEqual({ 'x-one': '1', 'x-dup': 'a, b', authorization: 'Bearer k1, Bearer k2', 'content-type': 'text/plain, application/json', 'x-absent': null });
  });

  it('reads the same through app.request, without a Node request', async () => {
    const app = new Hono();
    app.get('/h', (c) => c.text(`${requestHeader(c, 'x-one')}|${requestHeader(c, 'x-absent')}`));
    expect(await (await app.request('/h', { headers: { 'X-One': '1' } })).text()).toBe('1|null');
  });
});
