import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { GatewayError, isGatewayError } from '@llmgw/resilience';
import { startLoopbackUpstream, type LoopbackUpstream } from '../testing/loopback-upstream.ts';
import { completeExchange, streamExchange, type Exchange } from './http.ts';
import type { StreamDecoder } from './stream.ts';
import type { CallTimeouts, UpstreamStreamEvent } from './types.ts';

// A loopback upstream: /slow answers JSON after 300 ms, /fast at once, /sse a complete
// three-event stream. It counts the TCP connections it accepts.
let upstream: LoopbackUpstream;
let origin: string;

beforeAll(async () => {
  upstream = await startLoopbackUpstream((req, res) => {
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: hello\n\ndata: STOP\n\ndata: [DONE]\n\n');
      return;
    }
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), req.url === '/slow' ? 300 : 0);
  });
  origin = upstream.url;
});

afterAll(() => upstream.close());

const TIMEOUTS: CallTimeouts = { connectMs: 1000, firstTokenMs: 5000, streamIdleMs: 5000, totalMs: 5000 };

function exchange(pool: Pool, path: string, signal: AbortSignal): Exchange<unknown> {
  return {
    upstream: 'loopback',
    dispatcher: pool,
    spec: { path, headers: { 'content-type': 'application/json' }, body: '{}' },
    opts: { signal, timeouts: TIMEOUTS },
    error: (status) => new GatewayError({ code: 'upstream_error', message: `HTTP ${status}`, retryable: true }),
    rateLimit: () => undefined,
    expected: 'JSON',
  };
}

/** `data: STOP` is the finish, `[DONE]` the terminator, anything else a delta. */
const decoder = (): StreamDecoder => ({
  id: 'loopback',
  model: 'm',
  event(data: string, _type: string | undefined, out: UpstreamStreamEvent[]): boolean {
    if (data === '[DONE]') return true;
    out.push(data === 'STOP' ? { type: 'finish', finishReason: 'stop' } : { type: 'delta', content: data });
    return false;
  },
  end: () => false,
});

describe('UpstreamCall on a busy pool', () => {
  it('a request aborted while it waits in the queue leaves it at once, and costs no connection', async () => {
    const pool = new Pool(origin, { connections: 1 });
    try {
      const connectionsBefore = upstream.connections();
      const first = completeExchange(exchange(pool, '/slow', new AbortController().signal), (json) => ({ json }) as never);
      const caller = new AbortController();
      const queued = completeExchange(exchange(pool, '/fast', caller.signal), (json) => ({ json }) as never).catch((error: unknown) => error);
      setTimeout(() => caller.abort(new Error('caller gone')), 50);
      const started = performance.now();
      const error = await queued;
      expect(isGatewayError(error) && error.kind).toBe('aborted');
      // Rejected when aborted, not when the connection came free (300 ms).
      expect(performance.now() - started).toBeLessThan(200);
      await first;
      // The aborted request never reached the connection: the next one reuses it.
      await completeExchange(exchange(pool, '/fast', new AbortController().signal), (json) => ({ json }) as never);
      expect(upstream.connections() - connectionsBefore).toBe(1);
      expect(pool.stats.queued).toBe(0);
    } finally {
      await pool.close();
    }
  });
});

describe('UpstreamCall waiting for a connection', () => {
  it("a first-token timeout still in the pool's queue is our saturation (bulkhead), not a silent upstream", async () => {
    const pool = new Pool(origin, { connections: 1 });
    const quick: CallTimeouts = { ...TIMEOUTS, firstTokenMs: 100 };
    const waiting = (path: string) => ({ ...exchange(pool, path, new AbortController().signal), opts: { signal: new AbortController().signal, timeouts: quick } });
    try {
      const first = completeExchange(exchange(pool, '/slow', new AbortController().signal), (json) => ({ json }) as never);
      const queued = await streamExchange(waiting('/sse'), decoder).catch((e: unknown) => e);
      expect(queued).toMatchObject({ code: 'bulkhead_rejected', kind: 'bulkhead', retryable: true });
      await first;
      // On a connection, the same silence is the upstream's: 'silent'.
      const silent = await streamExchange(waiting('/slow'), decoder).catch((e: unknown) => e);
      expect(silent).toMatchObject({ kind: 'silent' });
    } finally {
      await pool.close();
    }
  });
});

describe('UpstreamCall after a complete streamed answer', () => {
  it("stops its timers and leaves the caller's signal when the reader stops at the finish and cancels", async () => {
    const pool = new Pool(origin, { connections: 1 });
    try {
      const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const caller = new AbortController();
      const stream = await streamExchange(exchange(pool, '/sse', caller.signal), decoder);
      // What chat/session.ts does: read to the finish, then cancel() without returning the iterator.
      const iterator = stream[Symbol.asyncIterator]();
      const seen: string[] = [];
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        seen.push(next.value.type);
        if (next.value.type === 'finish') break;
      }
      stream.cancel();
      expect(seen).toEqual(['delta', 'finish']);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(timersBefore);
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    } finally {
      await pool.close();
    }
  });
});
