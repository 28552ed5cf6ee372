import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dispatcher } from 'undici';
import { ResponseHandler, type BodySink } from './response-handler.ts';

/** What undici hands a handler: records aborts and flow control. */
class FakeController implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

function recorder(): BodySink & { chunks: string[]; ended: number; errors: Error[] } {
  const sink = {
    chunks: [] as string[],
    ended: 0,
    errors: [] as Error[],
    data: (chunk: Buffer) => sink.chunks.push(chunk.toString()),
    end: () => sink.ended++,
    error: (error: Error) => sink.errors.push(error),
  };
  return sink;
}

/** A handler that got its status line, as undici drives it. */
async function answered(status = 200): Promise<{ handler: ResponseHandler; controller: FakeController }> {
  const handler = new ResponseHandler();
  const controller = new FakeController();
  handler.onRequestStart(controller);
  handler.onResponseStart(controller, status, { 'content-type': 'text/event-stream' });
  await handler.response;
  return { handler, controller };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ResponseHandler', () => {
  it('resolves at the final status line, skipping 1xx, with the parsed headers', async () => {
    const handler = new ResponseHandler();
    const controller = new FakeController();
    handler.onRequestStart(controller);
    handler.onResponseStart(controller, 100, {});
    let settled = false;
    void handler.response.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    handler.onResponseStart(controller, 429, { 'retry-after': '2' });
    const res = await handler.response;
    expect(res.statusCode).toBe(429);
    expect(res.headers).toEqual({ 'retry-after': '2' });
    expect(res.body).toBe(handler);
  });

  it('replays what arrived before the reader attached, then streams the rest, in order', async () => {
    const { handler, controller } = await answered();
    handler.onResponseData(controller, Buffer.from('a'));
    handler.onResponseData(controller, Buffer.from('b'));
    const sink = recorder();
    handler.attach(sink);
    expect(sink.chunks).toEqual(['a', 'b']);
    handler.onResponseData(controller, Buffer.from('c'));
    handler.onResponseEnd(controller, {});
    expect(sink.chunks).toEqual(['a', 'b', 'c']);
    expect(sink.ended).toBe(1);
    expect(() => handler.attach(recorder())).toThrow(/only once/);
  });

  it('gives a reader that attaches after the end the whole body and the end, or the error', async () => {
    const ended = await answered();
    ended.handler.onResponseData(ended.controller, Buffer.from('all'));
    ended.handler.onResponseEnd(ended.controller, {});
    const a = recorder();
    ended.handler.attach(a);
    expect(a).toMatchObject({ chunks: ['all'], ended: 1, errors: [] });

    const broken = await answered();
    const reset = Object.assign(new Error('socket reset'), { code: 'ECONNRESET' });
    broken.handler.onResponseData(broken.controller, Buffer.from('half'));
    broken.handler.onResponseError(broken.controller, reset);
    const b = recorder();
    broken.handler.attach(b);
    expect(b).toMatchObject({ chunks: ['half'], ended: 0, errors: [reset] });
  });

  it('rejects at once when aborted before the answer, and aborts the request once undici starts it', async () => {
    const handler = new ResponseHandler();
    const reason = new Error('timed out in the queue');
    handler.abort(reason);
    await expect(handler.response).rejects.toBe(reason);
    const controller = new FakeController();
    handler.onRequestStart(controller);
    expect(controller.reason).toBe(reason);
  });

  it('rejects with the transport error when the request fails before an answer', async () => {
    const handler = new ResponseHandler();
    const controller = new FakeController();
    handler.onRequestStart(controller);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    handler.onResponseError(controller, refused);
    await expect(handler.response).rejects.toBe(refused);
  });

  it('an abort while the body flows reaches undici, and the first reason wins', async () => {
    const { handler, controller } = await answered();
    const sink = recorder();
    handler.attach(sink);
    const first = new Error('first');
    handler.abort(first);
    handler.abort(new Error('second'));
    expect(controller.reason).toBe(first);
    // undici answers an abort with onResponseError(reason).
    handler.onResponseError(controller, first);
    expect(sink.errors).toEqual([first]);
  });

  it('passes flow control to undici', async () => {
    const { handler, controller } = await answered();
    handler.pause();
    expect(controller.paused).toBe(true);
    handler.resume();
    expect(controller.paused).toBe(false);
  });

  it('drains a trailer so the connection is reused, and drops the connection past the byte limit', async () => {
    const ok = await answered();
    ok.handler.attach(recorder());
    ok.handler.pause();
    ok.handler.drain(10, 1000);
    expect(ok.controller.paused).toBe(false);
    ok.handler.onResponseData(ok.controller, Buffer.from('data: [DONE]'.slice(0, 10)));
    ok.handler.onResponseEnd(ok.controller, {});
    expect(ok.controller.aborted).toBe(false);

    const long = await answered();
    long.handler.attach(recorder());
    long.handler.drain(10, 1000);
    long.handler.onResponseData(long.controller, Buffer.from('x'.repeat(11)));
    expect(long.controller.aborted).toBe(true);
    expect(long.controller.reason?.message).toMatch(/trailer too long/);
  });

  it('drops the connection when a trailer does not end in time', async () => {
    vi.useFakeTimers();
    const slow = await answered();
    slow.handler.attach(recorder());
    slow.handler.drain(1024, 5000);
    slow.handler.onResponseData(slow.controller, Buffer.from(': ping'));
    vi.advanceTimersByTime(4999);
    expect(slow.controller.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(slow.controller.aborted).toBe(true);
    expect(slow.controller.reason?.message).toMatch(/not finished in time/);

    // A trailer that ends in time stops the clock.
    const quick = await answered();
    quick.handler.attach(recorder());
    quick.handler.drain(1024, 5000);
    quick.handler.onResponseEnd(quick.controller, {});
    vi.advanceTimersByTime(10_000);
    expect(quick.controller.aborted).toBe(false);
  });

  it('a sink that aborts while its early chunks are replayed still hears the error', async () => {
    const { handler, controller } = await answered();
    handler.onResponseData(controller, Buffer.from('too much'));
    const enough = new Error('enough');
    const sink = recorder();
    sink.data = () => {
      handler.abort(enough);
      // undici answers the abort synchronously.
      handler.onResponseError(controller, enough);
    };
    handler.attach(sink);
    expect(sink.errors).toEqual([enough]);
  });
});
