import { agreement } from '../../generated/agreement.ts';

export interface BreakerOptions {
  /** Open after this many failures in a row. */
  consecutiveFailures: number;
  /** …or when this share of calls in `windowMs` failed, once `minThroughput` calls were seen. */
  failureRatio: number;
  windowMs: number;
  minThroughput: number;
  /** Time spent open before letting probes through. */
  halfOpenAfterMs: number;
  /** Calls let through while half-open. */
  halfOpenMaxProbes: number;
}

const cb = agreement.circuitBreaker;
export const DEFAULT_BREAKER: Readonly<BreakerOptions> = Object.freeze({
  consecutiveFailures: cb.consecutiveFailures,
  failureRatio: cb.failureRatio,
  windowMs: cb.windowMs,
  minThroughput: cb.minThroughput,
  halfOpenAfterMs: cb.halfOpenAfterMs,
  halfOpenMaxProbes: cb.halfOpenMaxProbes,
});

/** Serialisable breaker state (the seam for sharing it later). */
export type BreakerState =
  | { state: 'closed' }
  | { state: 'open'; openedAt: number }
  | { state: 'halfOpen'; probes: number };

/**
 * A small consecutive-or-ratio circuit breaker over a sliding window.
 * `tryAcquire()` says whether a call may go out now; report each call with `success()`/`failure()`,
 * or `neutral()` when the outcome says nothing about the service's health (e.g. a 4xx).
 */
export class CircuitBreaker {
  readonly #o: BreakerOptions;
  #state: BreakerState = { state: 'closed' };
  #consecutive = 0;
  #outcomes: { at: number; failed: boolean }[] = [];

  constructor(options: BreakerOptions = DEFAULT_BREAKER) {
    this.#o = options;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Ms until a probe may go out (0 when calls may go now). */
  tryAcquire(now: number = Date.now()): number {
    const s = this.#state;
    if (s.state === 'closed') return 0;
    if (s.state === 'open') {
      const wait = s.openedAt + this.#o.halfOpenAfterMs - now;
      if (wait > 0) return wait;
      this.#state = { state: 'halfOpen', probes: 1 };
      return 0;
    }
    if (s.probes < this.#o.halfOpenMaxProbes) {
      this.#state = { state: 'halfOpen', probes: s.probes + 1 };
      return 0;
    }
    return 1;
  }

  success(now: number = Date.now()): void {
    this.#consecutive = 0;
    if (this.#state.state !== 'closed') {
      this.#state = { state: 'closed' };
      this.#outcomes = [];
      return;
    }
    this.#record(now, false);
  }

  failure(now: number = Date.now()): void {
    this.#consecutive++;
    if (this.#state.state === 'halfOpen') {
      this.#state = { state: 'open', openedAt: now };
      return;
    }
    this.#record(now, true);
    if (this.#state.state === 'closed' && (this.#consecutive >= this.#o.consecutiveFailures || this.#ratioTripped())) {
      this.#state = { state: 'open', openedAt: now };
    }
  }

  /** A probe that proved nothing: give its slot back. */
  neutral(): void {
    const s = this.#state;
    if (s.state === 'halfOpen') this.#state = { state: 'halfOpen', probes: Math.max(0, s.probes - 1) };
  }

  #record(now: number, failed: boolean): void {
    this.#outcomes.push({ at: now, failed });
    const oldest = now - this.#o.windowMs;
    let drop = 0;
    while (drop < this.#outcomes.length && this.#outcomes[drop]!.at <= oldest) drop++;
    if (drop > 0) this.#outcomes.splice(0, drop);
  }

  #ratioTripped(): boolean {
    const n = this.#outcomes.length;
    if (n < this.#o.minThroughput) return false;
    let failed = 0;
    for (const o of this.#outcomes) if (o.failed) failed++;
    return failed / n >= this.#o.failureRatio;
  }
}
