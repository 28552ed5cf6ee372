/**
 * A provider's SSE response body as an `UpstreamStream`: bytes -> SSE events
 * (sse.ts) -> our events (the provider's decoder), with the stream timeouts
 * of `UpstreamCall` and the truncation rules:
 * - the body ends or breaks before the decoder saw a finish -> 'stream_truncated';
 * - the body ends cleanly after a finish without the provider's terminator
 *   ([DONE] / message_stop) -> the finish is yielded, no error;
 * - anything going wrong after the terminator is ignored: the answer is complete.
 */
import { GatewayError, abortedError, isGatewayError } from '@llmgw/resilience';
import { SseLimitError, SseParser } from './sse.ts';
import type { UpstreamCall } from './http.ts';
import type { BodySink, ResponseBody } from './response-handler.ts';
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
/** How long a trailer may take after a finished answer before the socket is given up. */
const TRAILER_TIMEOUT_MS = 5_000;
/** Decoded events waiting for the reader past which the upstream socket is paused. */
const HIGH_WATER_EVENTS = 1024;
/**
 * Deltas are merged up to about this many characters (the last one merged may go past it): a
 * reader far behind gets events of a sane size, and a cap on the whole answer cuts within one.
 */
const MERGED_DELTA_CHARS = 16 * 1024;
/** One shared reason for cancelled streams (an Error per cancel would capture a stack each time). */
const CANCELLED = new Error('stream cancelled');

export const MALFORMED: UpstreamStreamEvent = Object.freeze({ type: 'malformed' }) as UpstreamStreamEvent;

/**
 * The body is parsed and decoded as it arrives (undici calls `data` for each
 * HTTP chunk); the reader takes everything decoded so far at each step, so a
 * reader that keeps up pays one async step per socket read, not per event.
 */
export class SseUpstreamStream implements UpstreamStream, BodySink {
  readonly #rateLimit: () => RateLimitInfo | undefined;
  readonly #call: UpstreamCall;
  readonly #body: ResponseBody;
  readonly #decoder: StreamDecoder;
  readonly #upstream: string;
  readonly #parser = new SseParser();
  /** Decoded events the reader has not taken yet, and the array it gave back. */
  #queue: UpstreamStreamEvent[] = [];
  #spare: UpstreamStreamEvent[] = [];
  #paused = false;
  /** The provider's terminator was seen: the rest of the body is trailer. */
  #terminated = false;
  /** The decoder yielded the finish: the answer is complete, the rest is only trailer. */
  #complete = false;
  /** How the body ended ('ended', or the error that broke it); undefined while it flows. */
  #outcome: 'ended' | Error | undefined;
  /** Wakes the reader waiting for events or the body's end. */
  #wake: (() => void) | undefined;
  #used = false;
  #touchQueued = false;
  readonly #touch = (): void => {
    this.#touchQueued = false;
    this.#call.gotChunk();
  };

  constructor(upstream: string, call: UpstreamCall, body: ResponseBody, decoder: StreamDecoder, rateLimit: () => RateLimitInfo | undefined) {
    this.#upstream = upstream;
    this.#call = call;
    this.#body = body;
    this.#decoder = decoder;
    this.#rateLimit = rateLimit;
    // Read from the start, so the stream timeouts see the upstream, not the reader.
    body.attach(this);
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
    // After a complete answer there is nothing to cancel, only the reading to finish; once the
    // body is over, only the call's clocks to stop. (A streaming caller stops at the finish
    // and cancels without returning the iterator.)
    if (this.#complete || this.#outcome !== undefined) {
      this.#settle();
      return;
    }
    this.#call.fail(abortedError(CANCELLED));
    this.#body.abort(CANCELLED);
  }

  /**
   * A complete answer was read: stop the call's clocks (and its hold on the caller's
   * signal), and drain what is left of the body ([DONE], the body's end; bounded) so
   * the keep-alive socket is reused instead of destroyed. Idempotent.
   */
  #settle(): void {
    this.#call.end();
    if (this.#outcome !== undefined) return;
    this.#outcome = 'ended';
    this.#body.drain(TRAILER_LIMIT_BYTES, TRAILER_TIMEOUT_MS);
    this.#wakeReader();
  }

  // --- BodySink: called by undici, synchronously, for each chunk of the body ---

  data(chunk: Buffer): void {
    if (this.#terminated || this.#outcome !== undefined) return; // the trailer is only read, so the connection can be reused
    const call = this.#call;
    // The idle timer is refreshed once per socket read, after all of its chunks (undici hands
    // them over one by one, synchronously; a provider sends one per token): the same moment to
    // within the read's processing, for one refresh instead of one per token (~50 ns each).
    if (!this.#touchQueued) {
      this.#touchQueued = true;
      queueMicrotask(this.#touch);
    }
    const parser = this.#parser;
    const queue = this.#queue;
    const before = queue.length;
    try {
      const n = parser.push(chunk);
      for (let i = 0; i < n && !this.#terminated; i++) {
        this.#terminated = this.#decoder.event(parser.data[i]!, parser.type[i], queue);
      }
      parser.clear();
    } catch (error) {
      // Events decoded before the failure stay queued: they came before it.
      this.#break(error instanceof SseLimitError ? oversizedEvent(this.#upstream, error) : (error as Error));
      return;
    }
    if (queue.length === before) return;
    for (let i = before; i < queue.length; i++) {
      const type = queue[i]!.type;
      if (type === 'delta') call.gotFirstContent();
      else if (type === 'finish') {
        call.gotFirstContent();
        this.#complete = true;
      }
    }
    if (queue.length >= HIGH_WATER_EVENTS && !this.#paused) {
      this.#paused = true;
      this.#body.pause();
      call.holdIdle(true);
    }
    this.#wakeReader();
  }

  end(): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = 'ended';
    this.#wakeReader();
  }

  error(error: Error): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = error;
    this.#wakeReader();
  }

  /** The stream cannot be read on (a parser limit, an in-band error): stop reading the body. */
  #break(error: Error): void {
    this.#outcome = error;
    this.#body.abort(error);
    this.#wakeReader();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  // --- the reader's side ---

  /**
   * One event at a time (what a streaming caller forwards), except that the deltas of one
   * batch that follow each other come as one (up to MERGED_DELTA_CHARS): text that arrived together goes on together,
   * and a burst of tokens (a provider that sends several per read, a caller that reads
   * slower than the model writes) costs each layer above one step, not one per token.
   * A batch can be long when the caller's own client reads slowly; the time it spends on
   * each event is not upstream idleness either.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<UpstreamStreamEvent, void, undefined> {
    const call = this.#call;
    for await (const batch of this.batches()) {
      for (let i = 0; i < batch.length; ) {
        const ev = batch[i++]!;
        if (ev.type !== 'delta' || i === batch.length || batch[i]!.type !== 'delta') {
          yield ev;
        } else {
          let content = ev.content;
          while (i < batch.length && batch[i]!.type === 'delta' && content.length < MERGED_DELTA_CHARS) content += (batch[i++] as { content: string }).content;
          yield { type: 'delta', content };
        }
        call.gotChunk();
      }
    }
  }

  /**
   * The events decoded since the last step, together: a caller that reads the
   * whole answer (a non-streamed request) pays one async step per socket read,
   * not per event. A batch is valid until the next one is requested.
   */
  async *batches(): AsyncGenerator<readonly UpstreamStreamEvent[], void, undefined> {
    if (this.#used) throw new Error('An UpstreamStream can be iterated only once');
    this.#used = true;
    const call = this.#call;
    let yieldedFinish = false;
    try {
      for (;;) {
        if (this.#queue.length > 0) {
          const batch = this.#queue;
          this.#queue = this.#spare;
          if (this.#paused) {
            this.#paused = false;
            this.#body.resume();
            call.holdIdle(false);
          }
          yieldedFinish ||= this.#complete;
          yield batch;
          batch.length = 0;
          this.#spare = batch;
          // Time spent in the consumer is not upstream idleness.
          call.gotChunk();
          continue;
        }
        const outcome = this.#outcome;
        if (outcome === undefined) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          continue;
        }
        const out = this.#queue;
        if (outcome !== 'ended') {
          if (yieldedFinish) return; // a complete answer; whatever broke afterwards does not matter
          const mapped = call.mapError(outcome, true);
          // The finish was seen and only the trailer (usage, terminator) is missing:
          // the answer is complete unless the caller gave up on it.
          if (mapped.kind !== 'aborted' && this.#decoder.end(out)) {
            yield out;
            return;
          }
          throw mapped;
        }
        this.#parser.end();
        const finished = yieldedFinish || this.#decoder.end(out);
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
        return;
      }
    } finally {
      // A consumer that stops at the finish leaves the trailer unread: drained. Anything
      // else unread is torn down.
      if (this.#complete) this.#settle();
      else {
        call.end();
        if (this.#outcome === undefined) this.#body.abort(CANCELLED);
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

/**
 * What a decoder does with a `data:` payload that does not parse. Noise (a line that is not
 * JSON at all, such as a provider's keep-alive text) is skipped and counted: the MALFORMED
 * event. A payload that starts like a JSON document was a chunk, damaged: the text it carried
 * is lost, so the answer cannot be passed off as complete. It is counted, then the stream
 * breaks as truncated (retried or continued from the partial answer, like a cut stream).
 */
export function unparsedChunk(upstream: string, data: string, out: UpstreamStreamEvent[]): void {
  out.push(MALFORMED);
  if (DAMAGED_CHUNK.test(data)) {
    throw new GatewayError({
      code: 'stream_interrupted',
      message: `Upstream "${upstream}" sent a damaged chunk (JSON that does not parse): part of the answer may be lost`,
      kind: 'stream_truncated',
      retryable: true,
    });
  }
}

const DAMAGED_CHUNK = /^\s*[{[]/;

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
