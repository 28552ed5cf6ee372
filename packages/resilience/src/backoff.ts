/**
 * Exponential backoff as an immutable value (cockatiel's model): a `Backoff`
 * knows its `delayMs` and makes the `next()` one; nothing is mutated, so one
 * configured `ExponentialBackoff` is shared by every request.
 *
 * Defaults follow the contract (`x-llm-agreement.defaults.retry`): 1 s, x2,
 * capped at 10 s, full jitter: 1 s -> 2 s -> 4 s -> 8 s -> 10 s before jitter.
 */

export type JitterMode = 'none' | 'full' | 'equal' | 'decorrelated';

export interface ExponentialBackoffOptions {
  /** First delay before jitter. Default 1000 ms. */
  initialDelayMs?: number;
  /** Growth per attempt. Default 2. */
  multiplier?: number;
  /** Cap for every delay. Default 10 000 ms. */
  maxDelayMs?: number;
  /**
   * - `full`: uniform in [0, d] (AWS "full jitter"; spreads a thundering herd best). Default.
   * - `equal`: uniform in [d/2, d] (keeps at least half the wait).
   * - `decorrelated`: uniform in [initial, 3 x previous], capped (AWS "decorrelated jitter").
   * - `none`: exactly d (deterministic; for tests and single clients).
   */
  jitter?: JitterMode;
  /** Source of randomness in [0, 1). Default Math.random. Inject for deterministic tests. */
  random?: () => number;
}

export const DEFAULT_INITIAL_DELAY_MS = 1000;
export const DEFAULT_BACKOFF_MULTIPLIER = 2;
export const DEFAULT_MAX_DELAY_MS = 10_000;
export const DEFAULT_JITTER: JitterMode = 'full';

/** One step of a backoff sequence. */
export interface Backoff {
  /** How long to wait before the next attempt. */
  readonly delayMs: number;
  /** Zero-based index of this step (0 = the wait before the first retry). */
  readonly step: number;
  next(): Backoff;
}

/** Makes the first step; shared, immutable. */
export interface BackoffFactory {
  first(): Backoff;
}

interface ResolvedOptions {
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitter: JitterMode;
  readonly random: () => number;
}

export class ExponentialBackoff implements BackoffFactory {
  readonly options: Readonly<ResolvedOptions>;

  constructor(options: ExponentialBackoffOptions = {}) {
    const initialDelayMs = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
    const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    const multiplier = options.multiplier ?? DEFAULT_BACKOFF_MULTIPLIER;
    if (!(initialDelayMs >= 0) || !(maxDelayMs >= 0) || !(multiplier >= 1)) {
      throw new RangeError('ExponentialBackoff: delays must be >= 0 and multiplier >= 1');
    }
    this.options = Object.freeze({
      initialDelayMs,
      multiplier,
      maxDelayMs,
      jitter: options.jitter ?? DEFAULT_JITTER,
      random: options.random ?? Math.random,
    });
  }

  first(): Backoff {
    return makeStep(this.options, 0, 0);
  }

  /** The un-jittered delay of a step: min(max, initial x multiplier^step). */
  baseDelay(step: number): number {
    return baseDelay(this.options, step);
  }
}

/** A fixed delay, e.g. for the async-job worker or tests. */
export class ConstantBackoff implements BackoffFactory {
  readonly #step: Backoff;
  constructor(delayMs: number) {
    const make = (step: number): Backoff => ({ delayMs, step, next: () => make(step + 1) });
    this.#step = make(0);
  }
  first(): Backoff {
    return this.#step;
  }
}

function baseDelay(o: ResolvedOptions, step: number): number {
  return Math.min(o.maxDelayMs, o.initialDelayMs * o.multiplier ** step);
}

function makeStep(o: ResolvedOptions, step: number, previousMs: number): Backoff {
  const delayMs = jittered(o, step, previousMs);
  return { delayMs, step, next: () => makeStep(o, step + 1, delayMs) };
}

function jittered(o: ResolvedOptions, step: number, previousMs: number): number {
  const base = baseDelay(o, step);
  switch (o.jitter) {
    case 'none':
      return base;
    case 'full':
      return Math.round(o.random() * base);
    case 'equal':
      return Math.round(base / 2 + (o.random() * base) / 2);
    case 'decorrelated': {
      // AWS: sleep = min(cap, random_between(base, prev * 3)); first step from `initial`.
      const low = Math.min(o.initialDelayMs, o.maxDelayMs);
      const high = Math.max(low, Math.min(o.maxDelayMs, (step === 0 ? o.initialDelayMs : previousMs) * 3));
      return Math.round(low + o.random() * (high - low));
    }
  }
}
