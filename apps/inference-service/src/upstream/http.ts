/**
 * One upstream HTTP call: the timers, the abort wiring and the mapping of
 * transport failures to typed GatewayErrors. Shared by every adapter so the
 * timeout semantics are identical across wire formats.
 *
 * Timeline of a call (all timers abort the undici request through its handler):
 * - connect: the pool's `connect.timeout` (undici ConnectTimeoutError) -> 'timeout_connect';
 * - waiting for the status line: streams wait `firstTokenMs`, others `totalMs`;
 *   expiring there means the socket took the request and said nothing -> 'silent',
 *   unless the request is still queued for a connection (every one busy: our side's
 *   saturation) -> a local 'bulkhead' rejection, which the breaker does not count;
 * - streams after the headers: `firstTokenMs` again for the first content ->
 *   'timeout_first_token', then `streamIdleMs` between chunks -> 'timeout_idle';
 * - always: `totalMs` for the whole call -> 'timeout_total';
 * - the caller's signal -> 'aborted' (immediately).
 */
import type { Dispatcher } from 'undici';
import undiciSymbols from 'undici/lib/core/symbols.js';
import { GatewayError, abortedError, bulkheadRejectedError, isGatewayError, timeoutError } from '@llmgw/resilience';
import { ResponseHandler, type ResponseBody, type ResponseHeaders, type UpstreamResponse } from './response-handler.ts';
import { SseUpstreamStream, type StreamDecoder } from './stream.ts';
import { MAX_ANSWER_SIZE, type CallOptions, type RateLimitInfo, type UpstreamCompletion, type UpstreamStream } from './types.ts';

/** Upstream error bodies are read up to this size; the rest is dropped. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** How undici lets a queued request leave its queue when aborted (see ResponseHandler.onQueued). */
const { kQueuedAbort } = undiciSymbols;

/** undici/Node error codes that mean the connection failed or broke. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export interface HttpRequestSpec {
  path: string;
  headers: Record<string, string>;
  body: string;
}

type Phase = 'headers' | 'first_token' | 'streaming' | 'done';

/**
 * The state of one call. Create it, `send()`, then (streams) call
 * `gotFirstContent()` / `gotChunk()` as data flows, and always `end()`.
 */
export class UpstreamCall {
  /** The error that aborted the call (a timeout, the caller's abort, a cancel). */
  reason: GatewayError | undefined;
  #phase: Phase = 'headers';
  readonly #upstream: string;
  readonly #opts: CallOptions;
  readonly #streaming: boolean;
  #phaseTimer: NodeJS.Timeout | undefined;
  #totalTimer: NodeJS.Timeout | undefined;
  #onCallerAbort: (() => void) | undefined;
  #handler: ResponseHandler | undefined;
  #idleHeld = false;

  constructor(upstream: string, opts: CallOptions, streaming: boolean) {
    this.#upstream = upstream;
    this.#opts = opts;
    this.#streaming = streaming;
  }

  get headersReceived(): boolean {
    return this.#phase !== 'headers';
  }

  /** Sends the request; resolves with the response once the status line and headers are in. */
  async send(dispatcher: Dispatcher, spec: HttpRequestSpec): Promise<UpstreamResponse> {
    const { signal, timeouts } = this.#opts;
    if (signal.aborted) throw abortedError(signal.reason);
    this.#onCallerAbort = () => this.fail(abortedError(signal.reason));
    signal.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.#totalTimer = setTimeout(() => this.#expire('timeout_total'), timeouts.totalMs);
    if (this.#streaming) this.#phaseTimer = setTimeout(() => this.#expire('first_token'), timeouts.firstTokenMs);
    const handler = new ResponseHandler();
    this.#handler = handler;
    try {
      const options: Dispatcher.DispatchOptions & Record<symbol, unknown> = {
        method: 'POST',
        path: spec.path,
        headers: spec.headers,
        body: spec.body,
        // Our own timers decide; undici's would fire with the wrong kind.
        headersTimeout: 0,
        bodyTimeout: 0,
        [kQueuedAbort]: handler.onQueued,
      };
      dispatcher.dispatch(options, handler);
      const res = await handler.response;
      this.#phase = this.#streaming ? 'first_token' : 'streaming';
      // The first-token budget starts again once the upstream answered.
      this.#phaseTimer?.refresh();
      return res;
    } catch (error) {
      this.end();
      throw this.mapError(error);
    }
  }

  /** First content of a stream: from now on the idle timeout applies. */
  gotFirstContent(): void {
    if (this.#phase !== 'first_token') return;
    this.#phase = 'streaming';
    clearTimeout(this.#phaseTimer);
    this.#phaseTimer = setTimeout(() => this.#expire('idle'), this.#opts.timeouts.streamIdleMs);
  }

  /** Any bytes after the first content keep the stream alive. */
  gotChunk(): void {
    if (this.#phase === 'streaming') this.#phaseTimer?.refresh();
  }

  /**
   * While we hold the body paused (our reader is behind), the upstream cannot send: silence
   * then is ours, so the idle timeout waits for `holdIdle(false)` (which starts it afresh).
   */
  holdIdle(held: boolean): void {
    this.#idleHeld = held;
    if (!held) this.gotChunk();
  }

  /** Abort with a reason (the first reason wins). */
  fail(reason: GatewayError): void {
    if (this.reason !== undefined || this.#phase === 'done') return;
    this.reason = reason;
    this.#handler?.abort(reason);
    this.end();
  }

  /** Stop the timers and detach from the caller's signal. Idempotent. */
  end(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    clearTimeout(this.#phaseTimer);
    clearTimeout(this.#totalTimer);
    if (this.#onCallerAbort) this.#opts.signal.removeEventListener('abort', this.#onCallerAbort);
    // Nothing is aborted through the call any more; what the handler holds (headers, the
    // body's reader) need not live as long as the call (see ResponseHandler#release).
    this.#handler = undefined;
    this.#phaseTimer = undefined;
    this.#totalTimer = undefined;
    this.#onCallerAbort = undefined;
  }

  /**
   * Any error thrown while talking to the upstream, as a GatewayError. The
   * recorded abort reason wins; a failure after the headers of a stream is a truncation.
   */
  mapError(error: unknown, midStream = false): GatewayError {
    if (this.reason !== undefined) return this.reason;
    if (isGatewayError(error)) return error;
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return withCause(timeoutError('timeout_connect', this.#opts.timeouts.connectMs, `Upstream "${this.#upstream}"`), error);
    }
    if (midStream) {
      return new GatewayError({
        code: 'stream_interrupted',
        message: `Upstream "${this.#upstream}" broke off the stream before it finished`,
        kind: 'stream_truncated',
        retryable: true,
        cause: error,
      });
    }
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR'))) {
      return networkError(this.#upstream, code, error);
    }
    if ((error as { name?: unknown } | null)?.name === 'AbortError') return abortedError(error);
    return networkError(this.#upstream, typeof code === 'string' ? code : 'unknown', error);
  }

  #expire(which: 'timeout_total' | 'first_token' | 'idle'): void {
    if (which === 'idle' && this.#idleHeld) {
      this.#phaseTimer?.refresh();
      return;
    }
    const { timeouts } = this.#opts;
    const who = `Upstream "${this.#upstream}"`;
    const headers = this.#phase === 'headers';
    let err: GatewayError;
    if (headers && this.#handler?.started === false) {
      // Still in the pool's queue: every connection to this upstream is busy. That is our
      // side's saturation, not an upstream that took the request and said nothing: a local
      // rejection, which the breaker does not count (failover and retries still apply).
      const ms = which === 'first_token' ? timeouts.firstTokenMs : timeouts.totalMs;
      err = bulkheadRejectedError(`${who}: no connection came free within ${ms} ms (every pooled connection busy)`);
    } else if (which === 'idle') err = timeoutError('timeout_idle', timeouts.streamIdleMs, who);
    else if (which === 'timeout_total' && this.#idleHeld) {
      // Paused by us: the caller reads slower than the model writes. Not the model's fault, so
      // not its breaker's (one tenant's slow client must not open a model for everyone).
      err = callerTooSlowError(who, timeouts.totalMs);
    }
    else if (which === 'first_token') {
      err = headers ? timeoutError('silent', timeouts.firstTokenMs, who) : timeoutError('timeout_first_token', timeouts.firstTokenMs, who);
    } else err = headers ? timeoutError('silent', timeouts.totalMs, who) : timeoutError('timeout_total', timeouts.totalMs, who);
    this.fail(err);
  }
}

/**
 * A model's total timeout that ran out while the body was paused on our account: the caller read
 * more slowly than the model wrote. Breaker-neutral (timeout_deadline), not retryable.
 */
export function callerTooSlowError(who: string, totalMs: number): GatewayError {
  return new GatewayError({
    code: 'upstream_timeout',
    kind: 'timeout_deadline',
    retryable: false,
    message: `${who} could not finish within ${totalMs} ms: the answer was read more slowly than it was written`,
  });
}

/** Whether `error` is callerTooSlowError's (the only non-retryable timeout_deadline). */
export function isCallerTooSlow(error: GatewayError): boolean {
  return error.kind === 'timeout_deadline' && !error.retryable;
}

function networkError(upstream: string, code: string, cause: unknown): GatewayError {
  return new GatewayError({
    code: 'upstream_unavailable',
    message: `Network error talking to upstream "${upstream}" (${code})`,
    kind: 'network',
    retryable: true,
    cause,
  });
}

function withCause(err: GatewayError, cause: unknown): GatewayError {
  Object.defineProperty(err, 'cause', { value: cause, configurable: true, writable: true });
  return err;
}

/**
 * Reads a (bounded) error body and parses it as JSON when it is JSON; `undefined` otherwise.
 * The rest past the bound is read and dropped so the connection can be reused.
 */
export function readErrorBody(body: ResponseBody): Promise<unknown> {
  return new Promise((resolve) => {
    let size = 0;
    const parts: Buffer[] = [];
    const done = (): void => {
      const text = Buffer.concat(parts).toString('utf8', 0, Math.min(size, MAX_ERROR_BODY_BYTES));
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve(undefined);
      }
    };
    body.attach({
      data(chunk) {
        if (size < MAX_ERROR_BODY_BYTES) parts.push(chunk);
        size += chunk.length;
      },
      end: done,
      // A broken error body still leaves us the status.
      error: done,
    });
  });
}

export type { ResponseHeaders };

export function header(headers: ResponseHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

/**
 * Build the GatewayError for a non-2xx upstream answer. `kindOfBody` says
 * what the provider's error body means (context length, content policy);
 * other statuses go through `GatewayError.fromStatus`. The upstream's own
 * message is kept on `cause` only: it may quote the prompt.
 */
export function httpError(
  upstream: string,
  status: number,
  headers: ResponseHeaders,
  body: unknown,
  special: 'context_length' | 'content_policy' | undefined,
): GatewayError {
  const cause = { upstreamStatus: status, body };
  if (special === 'context_length') {
    return new GatewayError({
      code: 'context_length_exceeded',
      status: 400,
      message: `Upstream "${upstream}": the prompt is longer than the model's context window`,
      kind: 'context_length',
      retryable: false,
      param: 'messages',
      cause,
    });
  }
  if (special === 'content_policy') {
    return new GatewayError({
      code: 'content_policy_violation',
      status: 400,
      message: `Upstream "${upstream}" refused the request under its content policy`,
      kind: 'content_filter',
      retryable: false,
      cause,
    });
  }
  // Our credentials or permissions at the upstream are wrong: the caller's
  // request is fine, the gateway is misconfigured. Not retried.
  if (status === 401 || status === 403) {
    return new GatewayError({
      code: 'upstream_error',
      status: 502,
      message: `Upstream "${upstream}" rejected the gateway's credentials (HTTP ${status})`,
      retryable: false,
      cause,
    });
  }
  // 529 is Anthropic's "overloaded": a 503 by another name.
  const mapped = status === 529 ? 503 : status;
  return GatewayError.fromStatus(mapped, {
    message: `Upstream "${upstream}" answered HTTP ${status}`,
    headers,
    cause,
  });
}

/** How one provider's wire format reads an exchange (the rest is the same for every provider). */
export interface Exchange<T> {
  upstream: string;
  dispatcher: Dispatcher;
  spec: HttpRequestSpec;
  opts: CallOptions;
  /** The provider's error body as a GatewayError (status mapping, special codes). */
  error(status: number, headers: ResponseHeaders, body: unknown): GatewayError;
  rateLimit(headers: ResponseHeaders): RateLimitInfo | undefined;
  /** What a body that is not the provider's answer is called in the error message. */
  expected: string;
}

/**
 * A non-streamed exchange: send, map a non-2xx to the provider's error, parse the JSON answer.
 * `rateLimit` is added here, parsed from the headers only when read (as for streams): nothing
 * on the request path reads it.
 */
export async function completeExchange<T>(
  x: Exchange<T>,
  read: (json: T, headers: ResponseHeaders) => Omit<UpstreamCompletion, 'rateLimit'>,
): Promise<UpstreamCompletion> {
  const call = new UpstreamCall(x.upstream, x.opts, false);
  const res = await call.send(x.dispatcher, x.spec);
  try {
    if (res.statusCode >= 300) throw x.error(res.statusCode, res.headers, await readErrorBody(res.body));
    let json: T;
    try {
      json = JSON.parse(await readAnswer(res.body, x.upstream)) as T;
    } catch (error) {
      if (error instanceof SyntaxError) throw invalidBody(x.upstream, x.expected, error);
      throw error;
    }
    const headers = res.headers;
    return Object.defineProperty(read(json, headers), 'rateLimit', { get: () => x.rateLimit(headers), enumerable: true });
  } catch (error) {
    throw call.mapError(error);
  } finally {
    call.end();
  }
}

/** A streamed exchange: send, map a non-2xx to the provider's error, then the body as events. */
export async function streamExchange(x: Exchange<unknown>, decoder: (headers: ResponseHeaders) => StreamDecoder): Promise<UpstreamStream> {
  const call = new UpstreamCall(x.upstream, x.opts, true);
  const res = await call.send(x.dispatcher, x.spec);
  if (res.statusCode >= 300) {
    try {
      throw x.error(res.statusCode, res.headers, await readErrorBody(res.body));
    } catch (error) {
      throw call.mapError(error);
    } finally {
      call.end();
    }
  }
  return new SseUpstreamStream(x.upstream, call, res.body, decoder(res.headers), () => x.rateLimit(res.headers));
}

/** A non-streamed answer's text, at most MAX_ANSWER_SIZE (beyond: the body is dropped, retryable error). */
function readAnswer(body: ResponseBody, upstream: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    body.attach({
      data(chunk) {
        if (over) return;
        size += chunk.length;
        if (size > MAX_ANSWER_SIZE) {
          over = true;
          const error = new GatewayError({ code: 'upstream_error', message: `Upstream "${upstream}" sent an answer longer than ${MAX_ANSWER_SIZE} bytes`, retryable: true });
          reject(error);
          body.abort(error);
          return;
        }
        parts.push(chunk);
      },
      end: () => resolve(Buffer.concat(parts, size).toString('utf8')),
      error: reject,
    });
  });
}

/** A 2xx body that is not what the provider promised: retryable (the next answer may be fine). */
export function invalidBody(upstream: string, expected: string, cause: unknown): GatewayError {
  return new GatewayError({
    code: 'upstream_error',
    message: `Upstream "${upstream}" answered with a body that is not ${expected}`,
    retryable: true,
    cause,
  });
}
