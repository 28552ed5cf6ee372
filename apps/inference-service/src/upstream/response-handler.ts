/**
 * One upstream exchange on undici's `dispatch` API: a promise for the status
 * line and headers, then the body pushed chunk by chunk into a `BodySink`.
 *
 * Why not `Dispatcher.request`: it wraps every body in a Node `Readable`,
 * listens on an `AbortSignal`, and its reader pays a stream push and an async
 * iteration step per chunk. An LLM answer streamed from upstream arrives as
 * one HTTP chunk per token, so that machinery ran ~40 times per answer. Here
 * the sink reads each chunk synchronously, inside undici's parser callback,
 * and wakes its reader once per socket read (measured in bench/README.md).
 *
 * Flow control is explicit: a sink that is ahead of its reader calls
 * `pause()` (undici stops reading the socket) and `resume()` when it drained.
 */
import type { Dispatcher } from 'undici';

export type ResponseHeaders = Dispatcher.ResponseData['headers'];

/** Receives a body as undici delivers it, in order. Must not throw. */
export interface BodySink {
  data(chunk: Buffer): void;
  /** The body ended cleanly. */
  end(): void;
  /** The body broke, or the exchange was aborted (`error` is the abort reason then). */
  error(error: Error): void;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: ResponseHeaders;
  body: ResponseBody;
}

/** The body of an answered exchange: attach one sink, steer the flow, or abort it. */
export interface ResponseBody {
  /** Chunks that arrived before this call are replayed into `sink` at once. */
  attach(sink: BodySink): void;
  pause(): void;
  resume(): void;
  /** Stop reading and drop the connection (a no-op once the body ended). */
  abort(reason: Error): void;
  /**
   * Read and drop what is left so the keep-alive connection is reused, up to
   * `limitBytes` within `timeoutMs`; past either the connection is dropped instead.
   */
  drain(limitBytes: number, timeoutMs: number): void;
}

type BodyState = 'open' | 'ended' | Error;

export class ResponseHandler implements Dispatcher.DispatchHandler, ResponseBody {
  readonly response: Promise<UpstreamResponse>;
  #resolve!: (res: UpstreamResponse) => void;
  #reject!: (error: Error) => void;
  #controller: Dispatcher.DispatchController | undefined;
  /** Takes the request out of the queue it waits in (set by undici through `onQueued`). */
  #cancelQueued: ((reason: Error) => void) | undefined;
  /** The first abort reason; a request aborted before it started is aborted when it does. */
  #abortReason: Error | undefined;
  #answered = false;
  #started = false;
  #sink: BodySink | undefined;
  #attached = false;
  /** Chunks between the headers and `attach` (undici parses a whole socket read at once). */
  #early: Buffer[] | undefined;
  #state: BodyState = 'open';

  constructor() {
    this.response = new Promise<UpstreamResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * undici's queued-abort hook (the `kQueuedAbort` dispatch option): while the request waits
   * in a pool's queue, `cancel` takes it out. Without it, a request aborted there would wait
   * for a connection only to be aborted on it, and that destroys the socket.
   */
  readonly onQueued = (cancel: (reason: Error) => void): void => {
    if (this.#abortReason !== undefined) cancel(this.#abortReason);
    else this.#cancelQueued = cancel;
  };

  /** The request left the pool's queue for a connection (undici's `onRequestStart`). */
  get started(): boolean {
    return this.#started;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#started = true;
    this.#cancelQueued = undefined;
    this.#controller = controller;
    if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders): void {
    // 1xx are informational: the answer is still to come.
    if (statusCode < 200) return;
    this.#controller = controller;
    this.#answered = true;
    this.#resolve({ statusCode, headers, body: this });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#sink !== undefined) this.#sink.data(chunk);
    else (this.#early ??= []).push(chunk);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, _trailers: ResponseHeaders): void {
    this.#state = 'ended';
    this.#release()?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.#answered) {
      this.#answered = true;
      this.#reject(error);
      return;
    }
    if (this.#state !== 'open') return;
    this.#state = error;
    this.#release()?.error(error);
  }

  /**
   * Forget the sink and undici's controller once the body is over. undici's
   * request objects often outlive a young-generation collection, and what they
   * still point to is kept and promoted with them (the parsed answer, ~12 KB).
   */
  #release(): BodySink | undefined {
    const sink = this.#sink;
    this.#sink = undefined;
    this.#controller = undefined;
    return sink;
  }

  /**
   * Abort the exchange: before the answer the response promise rejects with
   * `reason` at once; a request still waiting in the pool's queue leaves it.
   */
  abort(reason: Error): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    if (!this.#answered) {
      this.#answered = true;
      this.#reject(reason);
    }
    if (this.#controller !== undefined) this.#controller.abort(reason);
    else if (this.#cancelQueued !== undefined) {
      const cancel = this.#cancelQueued;
      this.#cancelQueued = undefined;
      cancel(reason);
    }
  }

  attach(sink: BodySink): void {
    if (this.#attached) throw new Error('An upstream body can be read only once');
    this.#attached = true;
    const early = this.#early;
    this.#early = undefined;
    if (early !== undefined) for (const chunk of early) sink.data(chunk);
    // The replay may have aborted the body (a sink that saw enough).
    const state = this.#state;
    if (state === 'open') this.#sink = sink;
    else if (state === 'ended') sink.end();
    else sink.error(state);
  }

  pause(): void {
    this.#controller?.pause();
  }

  resume(): void {
    this.#controller?.resume();
  }

  drain(limitBytes: number, timeoutMs: number): void {
    if (this.#state !== 'open') return;
    const timer = setTimeout(() => this.abort(TRAILER_TIMEOUT), timeoutMs);
    timer.unref();
    let size = 0;
    this.#sink = {
      data: (chunk) => {
        size += chunk.length;
        if (size > limitBytes) {
          clearTimeout(timer);
          this.abort(TRAILER_TOO_LONG);
        }
      },
      end: () => clearTimeout(timer),
      error: () => clearTimeout(timer),
    };
    this.resume();
  }
}

/** Shared reasons for a dropped trailer (an Error each would capture a stack each time). */
const TRAILER_TIMEOUT = new Error('upstream trailer not finished in time');
const TRAILER_TOO_LONG = new Error('upstream trailer too long');
