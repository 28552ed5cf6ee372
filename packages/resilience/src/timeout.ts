/**
 * Time limits: `withTimeout` for one call, `TimeoutPolicy` for composition,
 * deadline arithmetic, and `withStreamTimeouts` for streamed answers (first
 * token, then idle gaps). Every limit aborts the inner signal with a typed
 * GatewayError (code upstream_timeout, 504, retryable) and clears its timer.
 */
import { NEVER_ABORTED, linkAbort } from './abort.ts';
import { abortedError, timeoutError, type GatewayError, type TimeoutKind } from './errors.ts';
import { toContext, type ExecuteOptions, type Policy, type PolicyContext, type PolicyFn } from './policy.ts';

// --- deadlines (absolute epoch ms) -----------------------------------------

/** The absolute deadline `ms` from now. */
export function deadlineIn(ms: number, now: number = Date.now()): number {
  return now + ms;
}

/** Milliseconds left until `deadline` (never negative); Infinity without one. */
export function remaining(deadline: number | undefined, now: number = Date.now()): number {
  return deadline === undefined ? Infinity : Math.max(0, deadline - now);
}

export function isExpired(deadline: number | undefined, now: number = Date.now()): boolean {
  return deadline !== undefined && now >= deadline;
}

/** The earlier of two optional deadlines. */
export function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

// --- one call ----------------------------------------------------------------

/**
 * Runs `fn` with a signal that aborts after `ms`; rejects with a typed timeout
 * error at that moment even if `fn` ignores its signal. A `parent` abort is
 * passed through (the caller's reason wins).
 */
export function withTimeout<T>(
  fn: (signal: AbortSignal) => PromiseLike<T> | T,
  ms: number,
  kind: TimeoutKind = 'timeout_total',
  parent: AbortSignal = NEVER_ABORTED,
): Promise<T> {
  return runWithTimeout((signal) => fn(signal), ms, kind, parent);
}

function runWithTimeout<T>(
  fn: (signal: AbortSignal) => PromiseLike<T> | T,
  ms: number,
  kind: TimeoutKind,
  parent: AbortSignal,
  what?: string,
): Promise<T> {
  if (parent.aborted) return Promise.reject(abortedError(parent.reason));
  const controller = new AbortController();
  const unlink = linkAbort(parent, controller);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onParentAbort: (() => void) | undefined;

  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = timeoutError(kind, ms, what);
      controller.abort(error);
      reject(error);
    }, Math.max(0, ms));
    if (parent !== NEVER_ABORTED) {
      onParentAbort = () => reject(abortedError(parent.reason));
      parent.addEventListener('abort', onParentAbort, { once: true });
    }
  });

  let work: Promise<T>;
  try {
    work = Promise.resolve(fn(controller.signal));
  } catch (error) {
    work = Promise.reject(error);
  }
  // If the limit wins, the abandoned work may still reject later: keep it quiet.
  work.catch(noop);

  return Promise.race([work, limit]).finally(() => {
    clearTimeout(timer);
    unlink();
    if (onParentAbort !== undefined) parent.removeEventListener('abort', onParentAbort);
  });
}

// --- as a policy ---------------------------------------------------------------

export interface TimeoutPolicyOptions {
  /** Kind of the error when this limit fires. Default 'timeout_total'. */
  kind?: TimeoutKind;
  /** Names the upstream in the message, e.g. "Model 'gpt-4o-mini'". Default 'The upstream'. */
  name?: string;
  /** Clock. Default Date.now. */
  now?: () => number;
}

/**
 * A per-attempt (or total) time limit in a `wrap()` chain. The limit is also
 * cut to the caller's deadline, so an attempt never outlives the whole call;
 * the inner context carries the earlier deadline and the timed signal.
 */
export class TimeoutPolicy implements Policy {
  readonly #ms: number;
  readonly #kind: TimeoutKind;
  readonly #name: string | undefined;
  readonly #now: () => number;

  constructor(ms: number, options: TimeoutPolicyOptions = {}) {
    if (!(ms >= 0)) throw new RangeError('TimeoutPolicy: ms must be >= 0');
    this.#ms = ms;
    this.#kind = options.kind ?? 'timeout_total';
    this.#name = options.name;
    this.#now = options.now ?? Date.now;
  }

  execute<T>(fn: PolicyFn<T>, options?: AbortSignal | ExecuteOptions): Promise<T> {
    const outer = toContext(options);
    const now = this.#now();
    const ms = Math.min(this.#ms, remaining(outer.deadline, now));
    const deadline = earliest(outer.deadline, now + ms);
    return runWithTimeout(
      (signal) => fn({ signal, deadline, attempt: outer.attempt } satisfies PolicyContext),
      ms,
      this.#kind,
      outer.signal,
      this.#name,
    );
  }
}

// --- streams -----------------------------------------------------------------

export interface StreamTimeoutOptions {
  /** Longest wait for the first item. Undefined = no limit. */
  firstChunkMs?: number;
  /** Longest wait for each later item. Undefined = no limit. */
  idleMs?: number;
  /** Caller abort: ends the iteration with an aborted error. */
  signal?: AbortSignal;
  /** Called with the timeout error before it is thrown (e.g. to abort the upstream fetch). */
  onTimeout?: (error: GatewayError) => void;
  /** Names the upstream in messages. */
  name?: string;
}

/**
 * Wraps a stream so a silent start (kind 'timeout_first_token') or a stall
 * mid-stream (kind 'timeout_idle') ends it with a typed error. The time counted
 * is the wait for the upstream, not the consumer's own work between items.
 * On timeout, abort, error or early `break`, `return()` is called on the
 * source so it can cancel. A source blocked inside `next()` may only notice
 * that later (async generators queue `return()`): pass the upstream's
 * AbortController to `onTimeout` for an immediate cancel.
 */
export async function* withStreamTimeouts<T>(source: AsyncIterable<T>, options: StreamTimeoutOptions): AsyncGenerator<T, void, undefined> {
  const signal = options.signal ?? NEVER_ABORTED;
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    let limitMs = options.firstChunkMs;
    let kind: TimeoutKind = 'timeout_first_token';
    for (;;) {
      const result = await nextWithin(iterator, limitMs, kind, signal, options);
      if (result.done === true) {
        finished = true;
        return;
      }
      yield result.value;
      limitMs = options.idleMs;
      kind = 'timeout_idle';
    }
  } catch (error) {
    // A source that threw is already over; only our own timeout/abort leaves it running.
    if (!isOurTimeout(error)) finished = true;
    throw error;
  } finally {
    if (!finished) {
      try {
        void Promise.resolve(iterator.return?.()).catch(noop);
      } catch {
        // a throwing return() must not hide the real error
      }
    }
  }
}

const OUR_TIMEOUTS = new WeakSet<object>();
function isOurTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && OUR_TIMEOUTS.has(error);
}

function nextWithin<T>(
  iterator: AsyncIterator<T>,
  ms: number | undefined,
  kind: TimeoutKind,
  signal: AbortSignal,
  options: StreamTimeoutOptions,
): Promise<IteratorResult<T>> {
  if (signal.aborted) return Promise.reject(markOurs(abortedError(signal.reason)));
  const next = iterator.next();
  if (ms === undefined && signal === NEVER_ABORTED) return next;
  return new Promise<IteratorResult<T>>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(markOurs(abortedError(signal.reason)));
    };
    if (ms !== undefined) {
      timer = setTimeout(() => {
        cleanup();
        const error = timeoutError(kind, ms, options.name);
        options.onTimeout?.(error);
        reject(markOurs(error));
      }, Math.max(0, ms));
    }
    if (signal !== NEVER_ABORTED) signal.addEventListener('abort', onAbort, { once: true });
    next.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

function markOurs<E extends object>(error: E): E {
  OUR_TIMEOUTS.add(error);
  return error;
}

function noop(): void {}
