/**
 * A per-upstream circuit breaker. Opens on `consecutiveFailures` failures in a
 * row, or when the failure ratio over a sliding window passes `failureRatio`
 * (once at least `minThroughput` calls were seen). After `halfOpenAfterMs` it
 * lets up to `halfOpenMaxProbes` concurrent probes through: a probe that works
 * closes it, one that fails re-opens it. While open, `execute` throws
 * `circuit_open` without calling fn, and the router can ask `canAttempt()` to
 * skip the candidate altogether.
 *
 * Only failures that say the upstream is unhealthy count
 * (`countsAsUpstreamFailure`: 5xx, timeouts, network; not 4xx, not 429).
 * Other errors prove the upstream answered, so they count as health.
 * A caller's abort, and a call turned away on our side before it reached the
 * upstream (a full bulkhead, another breaker), say nothing about the upstream
 * and are ignored.
 *
 * State is a serialisable union (`toJSON()` / `initialState`): the seam for a
 * breaker shared between instances.
 */
import { countsAsUpstreamFailure } from './classify.ts';
import { GatewayError, abortedError, isAbortLike, isGatewayError, type GatewayErrorKind } from './errors.ts';
import { EventEmitter } from './events.ts';
import { toContext, type ExecuteOptions, type Policy, type PolicyFn } from './policy.ts';
import { RollingCounter } from './rolling-window.ts';

/** Errors raised on our side of the call: neither a success nor a failure of the upstream. */
const NOT_FROM_UPSTREAM: ReadonlySet<GatewayErrorKind> = new Set<GatewayErrorKind>(['aborted', 'bulkhead', 'circuit_open', 'timeout_deadline']);

export type CircuitState = 'closed' | 'open' | 'half-open';

/** One call's place in the breaker's count, settled once (see `CircuitBreaker#begin`). */
export interface BreakerPermit {
  succeed(): void;
  fail(error: unknown): void;
  release(): void;
}

const RELEASED = new Error('breaker permit released without a verdict');

/** Serialisable breaker state. Times are epoch ms from the breaker's clock. */
export type CircuitBreakerSnapshot =
  | { readonly state: 'closed'; readonly consecutiveFailures: number }
  | { readonly state: 'open'; readonly openedAt: number; readonly halfOpenAt: number }
  | { readonly state: 'half-open'; readonly openedAt: number };

export interface CircuitBreakerOptions {
  /** Names the upstream in error messages. Default 'upstream'. */
  name?: string;
  /** Open after this many counted failures in a row. Default 5. 0 disables the rule. */
  consecutiveFailures?: number;
  /** Open when failures / calls in the window reach this. Default 0.5. `false` disables the rule. */
  failureRatio?: number | false;
  /** Window of the ratio rule. Default 30 000 ms. */
  windowMs?: number;
  /** Calls needed in the window before the ratio rule may open. Default 10. */
  minThroughput?: number;
  /** Open -> half-open after this long. Default 60 000 ms. */
  halfOpenAfterMs?: number;
  /** Concurrent probes allowed while half-open. Default 1. */
  halfOpenMaxProbes?: number;
  /** Which errors count against the upstream. Default `countsAsUpstreamFailure`. */
  isFailure?: (error: unknown) => boolean;
  /** Clock, ms. Default Date.now (fake-timer friendly). */
  now?: () => number;
  /** Start from a saved state (e.g. read from a shared store). */
  initialState?: CircuitBreakerSnapshot;
}

export const DEFAULT_CONSECUTIVE_FAILURES = 5;
export const DEFAULT_FAILURE_RATIO = 0.5;
export const DEFAULT_BREAKER_WINDOW_MS = 30_000;
export const DEFAULT_MIN_THROUGHPUT = 10;
export const DEFAULT_HALF_OPEN_AFTER_MS = 60_000;
export const DEFAULT_HALF_OPEN_MAX_PROBES = 1;
const WINDOW_BUCKETS = 10;

export interface StateChangeEvent {
  from: CircuitState;
  to: CircuitState;
  /** Set when the change was caused by a failure. */
  error?: unknown;
}
export interface BreakerFailureEvent {
  error: unknown;
  state: CircuitState;
}
export interface BreakerSuccessEvent {
  state: CircuitState;
}

const CALLS = 0;
const FAILURES = 1;

export class CircuitBreaker implements Policy {
  readonly name: string;
  readonly #threshold: number;
  readonly #ratio: number | false;
  readonly #minThroughput: number;
  readonly #halfOpenAfterMs: number;
  readonly #maxProbes: number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #now: () => number;
  readonly #window: RollingCounter;

  #state: CircuitState = 'closed';
  #consecutive = 0;
  #openedAt = 0;
  #halfOpenAt = 0;
  #probes = 0;
  /** Bumped on every transition: a call's outcome only counts in the state it started in. */
  #generation = 0;

  readonly #stateChange = new EventEmitter<StateChangeEvent>();
  readonly #failure = new EventEmitter<BreakerFailureEvent>();
  readonly #success = new EventEmitter<BreakerSuccessEvent>();
  readonly onStateChange = this.#stateChange.on;
  readonly onFailure = this.#failure.on;
  readonly onSuccess = this.#success.on;

  constructor(options: CircuitBreakerOptions = {}) {
    this.name = options.name ?? 'upstream';
    this.#threshold = options.consecutiveFailures ?? DEFAULT_CONSECUTIVE_FAILURES;
    this.#ratio = options.failureRatio ?? DEFAULT_FAILURE_RATIO;
    this.#minThroughput = Math.max(1, options.minThroughput ?? DEFAULT_MIN_THROUGHPUT);
    this.#halfOpenAfterMs = options.halfOpenAfterMs ?? DEFAULT_HALF_OPEN_AFTER_MS;
    this.#maxProbes = Math.max(1, options.halfOpenMaxProbes ?? DEFAULT_HALF_OPEN_MAX_PROBES);
    this.#isFailure = options.isFailure ?? ((e) => countsAsUpstreamFailure(e));
    this.#now = options.now ?? Date.now;
    this.#window = new RollingCounter(options.windowMs ?? DEFAULT_BREAKER_WINDOW_MS, WINDOW_BUCKETS, 2);
    if (options.initialState !== undefined) this.#restore(options.initialState);
  }

  /** Current state (an open breaker whose wait is over reads as half-open). */
  get state(): CircuitState {
    this.#refresh();
    return this.#state;
  }

  /** Would a call be let through now? For routing: skip the candidate when false. */
  canAttempt(): boolean {
    this.#refresh();
    if (this.#state === 'closed') return true;
    if (this.#state === 'half-open') return this.#probes < this.#maxProbes;
    return false;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  msUntilHalfOpen(): number {
    this.#refresh();
    return this.#state === 'open' ? Math.max(0, this.#halfOpenAt - this.#now()) : 0;
  }

  async execute<T>(fn: PolicyFn<T>, options?: AbortSignal | ExecuteOptions): Promise<T> {
    const permit = this.#acquire();
    let result: T;
    try {
      result = await fn(toContext(options));
    } catch (error) {
      this.#settleError(permit, error);
      throw error;
    }
    this.#settleSuccess(permit);
    return result;
  }

  /**
   * A call whose outcome is known only later than a promise settles (a stream: it opens at its
   * first token, and can still break afterwards). Throws `circuit_open` like `execute`; the
   * permit is settled by the first of its methods called, and the later ones do nothing.
   * `release` frees it without a verdict (the caller left).
   */
  begin(): BreakerPermit {
    const permit = this.#acquire();
    let settled = false;
    const once = (settle: () => void) => () => {
      if (settled) return;
      settled = true;
      settle();
    };
    return {
      succeed: once(() => this.#settleSuccess(permit)),
      fail: (error: unknown) => once(() => this.#settleError(permit, error))(),
      release: once(() => this.#settleError(permit, abortedError(RELEASED))),
    };
  }

  toJSON(): CircuitBreakerSnapshot {
    this.#refresh();
    switch (this.#state) {
      case 'closed':
        return { state: 'closed', consecutiveFailures: this.#consecutive };
      case 'open':
        return { state: 'open', openedAt: this.#openedAt, halfOpenAt: this.#halfOpenAt };
      case 'half-open':
        return { state: 'half-open', openedAt: this.#openedAt };
    }
  }

  // --- internals -----------------------------------------------------------

  #acquire(): number {
    this.#refresh();
    if (this.#state === 'closed') return this.#generation;
    if (this.#state === 'half-open' && this.#probes < this.#maxProbes) {
      this.#probes++;
      return this.#generation;
    }
    const wait = this.#state === 'open' ? Math.max(0, this.#halfOpenAt - this.#now()) : undefined;
    throw new GatewayError({
      code: 'circuit_open',
      kind: 'circuit_open',
      status: 503,
      retryable: false,
      retryAfterMs: wait,
      message:
        this.#state === 'open'
          ? `Circuit open for ${this.name}: upstream failing, next probe in ${wait} ms`
          : `Circuit half-open for ${this.name}: probe in progress`,
    });
  }

  #settleSuccess(permit: number): void {
    if (permit !== this.#generation) return; // started in an earlier state: stale news
    if (this.#state === 'half-open') {
      this.#probes--;
      this.#transition('closed');
    } else {
      this.#consecutive = 0;
      this.#window.add(CALLS, this.#now());
    }
    if (this.#success.hasListeners) this.#success.emit({ state: this.#state });
  }

  #settleError(permit: number, error: unknown): void {
    if (isAbortLike(error) || (isGatewayError(error) && NOT_FROM_UPSTREAM.has(error.kind))) {
      // The caller left, or the call was turned away before it reached the upstream (a full
      // bulkhead, another breaker): the upstream told us nothing. Free the probe slot only.
      if (permit === this.#generation && this.#state === 'half-open') this.#probes--;
      return;
    }
    if (!this.#isFailure(error)) {
      this.#settleSuccess(permit); // e.g. 400/429: the upstream is up and answering
      return;
    }
    if (this.#failure.hasListeners) this.#failure.emit({ error, state: this.#state });
    if (permit !== this.#generation) return;
    if (this.#state === 'half-open') {
      this.#probes--;
      this.#transition('open', error);
      return;
    }
    // closed
    const now = this.#now();
    this.#consecutive++;
    this.#window.add(CALLS, now);
    this.#window.add(FAILURES, now);
    if (this.#shouldOpen(now)) this.#transition('open', error);
  }

  #shouldOpen(now: number): boolean {
    if (this.#threshold > 0 && this.#consecutive >= this.#threshold) return true;
    if (this.#ratio === false) return false;
    const calls = this.#window.total(CALLS, now);
    return calls >= this.#minThroughput && this.#window.total(FAILURES, now) >= this.#ratio * calls;
  }

  /** Lazily moves open -> half-open once the wait is over. */
  #refresh(): void {
    if (this.#state === 'open' && this.#now() >= this.#halfOpenAt) this.#transition('half-open');
  }

  #transition(to: CircuitState, error?: unknown): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    this.#probes = 0;
    if (to === 'open') {
      this.#openedAt = this.#now();
      this.#halfOpenAt = this.#openedAt + this.#halfOpenAfterMs;
    } else if (to === 'closed') {
      this.#consecutive = 0;
      this.#window.reset();
    }
    if (this.#stateChange.hasListeners) this.#stateChange.emit(error === undefined ? { from, to } : { from, to, error });
  }

  #restore(snapshot: CircuitBreakerSnapshot): void {
    this.#state = snapshot.state;
    if (snapshot.state === 'closed') {
      this.#consecutive = snapshot.consecutiveFailures;
    } else if (snapshot.state === 'open') {
      this.#openedAt = snapshot.openedAt;
      this.#halfOpenAt = snapshot.halfOpenAt;
    } else {
      // Probes in flight elsewhere are not ours: start half-open with free slots.
      this.#openedAt = snapshot.openedAt;
      this.#halfOpenAt = snapshot.openedAt;
    }
  }
}
