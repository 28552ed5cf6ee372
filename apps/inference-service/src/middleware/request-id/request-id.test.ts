import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { requestId } from './index.ts';

// Routes that answer with their own Response (as the generated routes do with ownResponseHeaders),
// a JSON error from Hono's onError, and a 404: the id is on every answer, on Node and elsewhere.
function app(): Hono {
  const a = new Hono();
  a.use('*', requestId());
  a.get('/own', (c) => new Response(JSON.stringify({ id: c.get('requestId') }), { headers: { 'content-type': 'application/json', 'x-other': '1' } }));
  a.get('/boom', () => {
    throw new Error('boom');
  });
  a.onError((_err, c) => c.json({ error: 'internal' }, 500));
  return a;
}

async function overNode(run: (base: string) => Promise<void>): Promise<void> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app().fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('requestId middleware', () => {
  it('on Node: echoes a valid caller id, replaces an invalid one, on every kind of answer', async () => {
    await overNode(async (base) => {
      const own = await fetch(`${base}/own`, { headers: { 'x-request-id': 'req-42' } });
      expect(own.headers.get('x-request-id')).toBe('req-42');
      expect(own.headers.get('x-other')).toBe('1');
      expect(await own.json()).toEqual({ id: 'req-42' });
      const bad = await fetch(`${base}/own`, { headers: { 'x-request-id': 'has spaces' } });
      expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
      for (const path of ['/boom', '/missing']) {
        const res = await fetch(`${base}${path}`, { headers: { 'x-request-id': 'req-43' } });
        expect([res.status, res.headers.get('x-request-id')]).toEqual([path === '/boom' ? 500 : 404, 'req-43']);
      }
    });
  });

  it('without a Node response (app.request): the same, set once the answer exists', async () => {
    const a = app();
    const own = await a.request('/own', { headers: { 'x-request-id': 'req-44' } });
    expect([own.headers.get('x-request-id'), own.headers.get('x-other')]).toEqual(['req-44', '1']);
    expect(await own.json()).toEqual({ id: 'req-44' });
    for (const path of ['/boom', '/missing']) {
      const res = await a.request(path);
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});
