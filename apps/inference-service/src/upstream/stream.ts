/**
 * A provider's SSE response body as an `UpstreamStream`: bytes -> SSE events
 * (sse.ts) -> our events (the provider's decoder), with the stream timeouts
 * of `UpstreamCall` and the truncation rules:
 * - the body ends or breaks before the decoder saw a finish -> 'stream_truncated';
 * - the body ends cleanly after a finish without the provider's terminator
 *   ([DONE] / message_stop) -> the finish is yielded, no error;
 * - anything going wrong after the terminator is ignored: the answer is complete.
 */
import type { Dispatcher } from 'undici';
import { GatewayError, abortedError, isGatewayError } from '@llmgw/resilience';
import { SseLimitError, SseParser } from './sse.ts';
import type { UpstreamCall } from './http.ts';
import type { RateLimitInfo, UpstreamStream, UpstreamStreamEvent } from './types.ts';

/** Provider-specific decoding of SSE events into our events. */
export interface StreamDecoder {
  id: string;
  model: string;
  /**
   * Handle one SSE event, pushing what it means onto `out`. Returns true when
   * it was the provider's terminator. Throws a GatewayError for an in-band error event.
   */
  event(data: string, type: string | undefined, out: UpstreamStreamEvent[]): boolean;
  /** Clean end of the body: push the pending finish, if any; true when the stream had finished. */
  end(out: UpstreamStreamEvent[]): boolean;
}

/** The most trailer bytes read after a finished answer before the socket is given up. */
const TRAILER_LIMIT_BYTES = 64 * 1024;
/** One shared reason for cancelled streams (an Error per cancel would capture a stack each time). */
const CANCELLED = new Error('stream cancelled');

export const MALFORMED: UpstreamStreamEvent = Object.freeze({ type: 'malformed' }) as UpstreamStreamEvent;

export class SseUpstreamStream implements UpstreamStream {
  readonly #rateLimit: () => RateLimitInfo | undefined;
  readonly #call: UpstreamCall;
  readonly #body: Dispatcher.ResponseData['body'];
  readonly #decoder: StreamDecoder;
  readonly #upstream: string;
  #used = false;
  /** The decoder yielded the finish: the answer is complete, the rest is only trailer. */
  #complete = false;

  constructor(upstream: string, call: UpstreamCall, body: Dispatcher.ResponseData['body'], decoder: StreamDecoder, rateLimit: () => RateLimitInfo | undefined) {
    this.#upstream = upstream;
    this.#call = call;
    this.#body = body;
    this.#decoder = decoder;
    this.#rateLimit = rateLimit;
  }

  /** The upstream's rate-limit headers, parsed when read (nothing on the request path reads them). */
  get rateLimit(): RateLimitInfo | undefined {
    return this.#rateLimit();
  }

  /** From the response headers at first, then from the first event that names it. */
  get id(): string {
    return this.#decoder.id;
  }

  get model(): string {
    return this.#decoder.model;
  }

  cancel(): void {
    // After a complete answer there is nothing to cancel: the trailer is being
    // drained so the connection goes back to the pool (see the iterator's finally).
    if (this.#complete) return;
    this.#call.fail(abortedError(CANCELLED));
    this.#body.destroy();
  }

  /** One event at a time (what a streaming caller forwards). */
  async *[Symbol.asyncIterator](): AsyncGenerator<UpstreamStreamEvent, void, undefined> {
    for await (const batch of this.batches()) for (const ev of batch) yield ev;
  }

  /**
   * The events of each body chunk together: a caller that reads the whole
   * answer (a non-streamed request) pays one async step per chunk, not per
   * event. A batch is valid until the next one is requested.
   */
  async *batches(): AsyncGenerator<readonly UpstreamStreamEvent[], void, undefined> {
    if (this.#used) throw new Error('An UpstreamStream can be iterated only once');
    this.#used = true;
    const call = this.#call;
    const decoder = this.#decoder;
    const parser = new SseParser();
    const out: UpstreamStreamEvent[] = [];
    let terminated = false;
    let finished = false;
    let ended = false;
    try {
      try {
        // destroyOnReturn: false: leaving the loop at the finish must not destroy the body
        // (an AbortError per request, and a socket thrown away); the finally drains or destroys it.
        for await (const chunk of this.#body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
          if (terminated) continue; // drain so the connection can be reused
          call.gotChunk();
          let n: number;
          try {
            n = parser.push(chunk);
          } catch (error) {
            throw error instanceof SseLimitError ? oversizedEvent(this.#upstream, error) : error;
          }
          for (let i = 0; i < n && !terminated; i++) {
            terminated = decoder.event(parser.data[i]!, parser.type[i], out);
          }
          if (out.length === 0) continue;
          for (let i = 0; i < out.length; i++) {
            const ev = out[i]!;
            if (ev.type === 'delta') call.gotFirstContent();
            else if (ev.type === 'finish') {
              call.gotFirstContent();
              finished = true;
              this.#complete = true;
            }
          }
          yield out;
          out.length = 0;
          // Time spent in the consumer is not upstream idleness.
          call.gotChunk();
        }
        ended = true;
      } catch (error) {
        if (finished) return; // a complete answer; whatever broke afterwards does not matter
        const mapped = call.mapError(error, true);
        // The finish was seen and only the trailer (usage, terminator) is missing:
        // the answer is complete unless the caller gave up on it.
        if (mapped.kind !== 'aborted' && decoder.end(out)) {
          yield out;
          return;
        }
        throw mapped;
      }
      parser.end();
      if (!finished && decoder.end(out)) finished = true;
      if (out.length > 0) yield out;
      out.length = 0;
      if (!finished) {
        throw new GatewayError({
          code: 'stream_interrupted',
          message: `Upstream "${this.#upstream}" ended the stream without finishing the answer`,
          kind: 'stream_truncated',
          retryable: true,
        });
      }
    } finally {
      call.end();
      if (!ended) {
        // A consumer that stops at the finish leaves the trailer ([DONE], the
        // body's end) unread: drain it (bounded) so the keep-alive socket is
        // reused instead of destroyed. Anything else is torn down.
        if (finished) this.#body.dump({ limit: TRAILER_LIMIT_BYTES }).catch(() => {});
        else this.#body.destroy();
      }
    }
  }
}

/** A line or event past the parser's limit: the stream cannot be read on (retryable: another attempt may be sane). */
function oversizedEvent(upstream: string, error: SseLimitError): GatewayError {
  return new GatewayError({
    code: 'stream_interrupted',
    message: `Upstream "${upstream}" sent an SSE line or event longer than ${error.limit} bytes`,
    kind: 'stream_truncated',
    retryable: true,
    cause: error,
  });
}

/** An in-band error event (`{"error": {...}}`) as a GatewayError for the decoders. */
export function inBandError(upstream: string, error: unknown): GatewayError {
  if (isGatewayError(error)) return error;
  return new GatewayError({
    code: 'stream_interrupted',
    message: `Upstream "${upstream}" sent an error event in the middle of the stream`,
    kind: 'stream_truncated',
    retryable: true,
    cause: error,
  });
}
