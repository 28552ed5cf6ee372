import { describe, expect, it } from 'vitest';
import { GatewayError } from '@llmgw/resilience';
import { UpstreamCall } from './http.ts';
import type { BodySink, ResponseBody } from './response-handler.ts';
import { SseUpstreamStream, type StreamDecoder } from './stream.ts';
import type { UpstreamStreamEvent } from './types.ts';

/** A body the test feeds by hand; records what the stream asked of it. */
class FakeBody implements ResponseBody {
  sink: BodySink | undefined;
  paused = false;
  pauses = 0;
  aborted: Error | undefined;
  drained: { limitBytes: number; timeoutMs: number } | undefined;
  attach(sink: BodySink): void {
    this.sink = sink;
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
  }
  abort(reason: Error): void {
    this.aborted ??= reason;
  }
  drain(limitBytes: number, timeoutMs: number): void {
    this.drained = { limitBytes, timeoutMs };
  }
  send(text: string): void {
    this.sink!.data(Buffer.from(text));
  }
}

/** `data: <text>` is a delta, `data: STOP` the finish, `data: BAD` a malformed payload, `data: [DONE]` the terminator, `data: FAIL` an in-band error. */
const decoder = (): StreamDecoder => ({
  id: 'test',
  model: 'test-model',
  event(data: string, _type: string | undefined, out: UpstreamStreamEvent[]): boolean {
    if (data === '[DONE]') return true;
    if (data === 'FAIL') throw new GatewayError({ code: 'stream_interrupted', message: 'in-band error', kind: 'stream_truncated', retryable: true });
    if (data === 'STOP') out.push({ type: 'finish', finishReason: 'stop' });
    else if (data === 'BAD') out.push({ type: 'malformed' });
    else out.push({ type: 'delta', content: data });
    return false;
  },
  end: () => false,
});

function open(): { stream: SseUpstreamStream; body: FakeBody } {
  const call = new UpstreamCall('test', { signal: new AbortController().signal, timeouts: { connectMs: 1000, firstTokenMs: 1000, streamIdleMs: 1000, totalMs: 1000 } }, true);
  const body = new FakeBody();
  return { stream: new SseUpstreamStream('test', call, body, decoder(), () => undefined), body };
}

const events = (...texts: string[]): string => texts.map((t) => `data: ${t}\n\n`).join('');

describe('SseUpstreamStream', () => {
  it('decodes as the body arrives and hands the reader everything decoded since its last step', async () => {
    const { stream, body } = open();
    const batches = stream.batches()[Symbol.asyncIterator]();
    const first = batches.next();
    body.send(events('a', 'b'));
    body.send(events('c'));
    expect((await first).value).toEqual([
      { type: 'delta', content: 'a' },
      { type: 'delta', content: 'b' },
      { type: 'delta', content: 'c' },
    ]);
    const second = batches.next();
    body.send(events('STOP', '[DONE]'));
    body.sink!.end();
    expect((await second).value).toEqual([{ type: 'finish', finishReason: 'stop' }]);
    expect((await batches.next()).done).toBe(true);
    expect(body.aborted).toBeUndefined();
  });

  it('pauses the upstream when the reader falls 1024 events behind, and resumes it when the reader catches up', async () => {
    const { stream, body } = open();
    const batches = stream.batches()[Symbol.asyncIterator]();
    const pending = batches.next();
    body.send(events(...Array.from({ length: 1100 }, (_, i) => `t${i}`)));
    expect(body.paused).toBe(true);
    const batch = await pending;
    expect(batch.value).toHaveLength(1100);
    expect(body.paused).toBe(false);
    expect(body.pauses).toBe(1);
    await batches.return(undefined);
  });

  it('hands a streaming reader the deltas that arrived together as one, in order, and no others', async () => {
    const { stream, body } = open();
    const reader = stream[Symbol.asyncIterator]();
    body.send(events('a', 'b', 'BAD', 'c', 'd'));
    expect((await reader.next()).value).toEqual({ type: 'delta', content: 'ab' });
    expect((await reader.next()).value).toEqual({ type: 'malformed' });
    expect((await reader.next()).value).toEqual({ type: 'delta', content: 'cd' });
    // Read as they come, deltas stay apart: nothing is held back to be merged.
    const next = reader.next();
    body.send(events('e'));
    expect((await next).value).toEqual({ type: 'delta', content: 'e' });
    body.send(events('f', 'STOP'));
    expect((await reader.next()).value).toEqual({ type: 'delta', content: 'f' });
    expect((await reader.next()).value).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('merges deltas only up to a size: a reader far behind still gets events of a sane size', async () => {
    const { stream, body } = open();
    const reader = stream[Symbol.asyncIterator]();
    const piece = 'x'.repeat(1000);
    body.send(events(...Array.from({ length: 40 }, () => piece)));
    const sizes: number[] = [];
    for (let total = 0; total < 40_000; ) {
      const ev = (await reader.next()).value as { type: string; content: string };
      sizes.push(ev.content.length);
      total += ev.content.length;
    }
    expect(sizes).toEqual([17_000, 17_000, 6_000]);
  });

  it('drains the trailer of a finished answer when the reader leaves at the finish, and drops an unfinished one', async () => {
    const finished = open();
    finished.body.send(events('a', 'STOP'));
    for await (const batch of finished.stream.batches()) if (batch.some((e) => e.type === 'finish')) break;
    expect(finished.body.drained).toEqual({ limitBytes: 64 * 1024, timeoutMs: 5000 });
    expect(finished.body.aborted).toBeUndefined();

    const unfinished = open();
    unfinished.body.send(events('a'));
    for await (const batch of unfinished.stream.batches()) if (batch.length > 0) break;
    expect(unfinished.body.drained).toBeUndefined();
    expect(unfinished.body.aborted?.message).toBe('stream cancelled');
  });

  it('delivers the events before an in-band error, then throws it and stops reading the body', async () => {
    const { stream, body } = open();
    body.send(events('a', 'FAIL', 'never'));
    const seen: UpstreamStreamEvent[] = [];
    await expect(
      (async () => {
        for await (const ev of stream) seen.push(ev);
      })(),
    ).rejects.toMatchObject({ code: 'stream_interrupted', message: 'in-band error' });
    expect(seen).toEqual([{ type: 'delta', content: 'a' }]);
    expect(body.aborted?.message).toBe('in-band error');
  });

  it('a body that breaks after the finish was read is a complete answer', async () => {
    const { stream, body } = open();
    body.send(events('a', 'STOP'));
    body.sink!.error(Object.assign(new Error('socket reset'), { code: 'ECONNRESET' }));
    const seen: UpstreamStreamEvent[] = [];
    for await (const ev of stream) seen.push(ev);
    expect(seen.map((e) => e.type)).toEqual(['delta', 'finish']);
  });

  it('a body that breaks before the finish is a retryable truncation', async () => {
    const { stream, body } = open();
    body.send(events('a'));
    body.sink!.error(Object.assign(new Error('socket reset'), { code: 'ECONNRESET' }));
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toMatchObject({ code: 'stream_interrupted', kind: 'stream_truncated', retryable: true });
  });
});
