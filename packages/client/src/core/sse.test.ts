import { describe, expect, it } from 'vitest';
import { decodeSse } from './sse.ts';
import type { SseEvent } from './sse.ts';

/** A body the test feeds piece by piece, so "nothing more has arrived yet" can be observed. */
function controlledBody() {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return { body, push: (text: string) => controller.enqueue(encoder.encode(text)), close: () => controller.close() };
}

/** The promise's value if it settles once pending I/O and microtasks ran, else 'pending'. */
function settledNow<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('decodeSse', () => {
  it('dispatches an event ended by CR CR at once, without waiting for the next read', async () => {
    const { body, push } = controlledBody();
    const events = decodeSse(body);
    push('data: x\r\r');
    expect(await settledNow(events.next())).toEqual({ done: false, value: { event: undefined, data: 'x' } });
  });

  it('skips the LF of a CRLF split across reads (one event, not two)', async () => {
    const { body, push, close } = controlledBody();
    const events = decodeSse(body);
    const seen: SseEvent[] = [];
    const all = (async () => {
      for await (const e of events) seen.push(e);
    })();
    push('data: a\r');
    await settledNow(all);
    push('\ndata: b\r\n\r');
    await settledNow(all);
    push('\nevent: e\rdata: c\r\r');
    await settledNow(all);
    expect(seen).toEqual([
      { event: undefined, data: 'a\nb' },
      { event: 'e', data: 'c' },
    ]);
    close();
    await all;
  });
});
