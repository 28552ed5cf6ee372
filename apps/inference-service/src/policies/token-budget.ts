import { isPromise, type MaybePromise, type TimeRange, type TokenUsageStore } from '../stores/types.ts';

/** How finely a used-up budget's Retry-After is worked out: a step is 1/60 of the window. */
const RETRY_STEPS = 60;

export interface TokenBudgetOptions {
  /** Tokens a key may use per `windowMs`. */
  tokensPerWindow: number;
  windowMs: number;
  runaway: {
    /** How many times its own baseline rate a key may reach (article: 10). */
    factor: number;
    /** The recent window compared against the baseline (article: 10 minutes). */
    recentWindowMs: number;
    /** The baseline window just before the recent one. */
    baselineWindowMs: number;
    /** Below this many tokens in the recent window a key is never called runaway. */
    minTokens: number;
  };
  /**
   * The usage store's bucket width. The store counts a bucket whole when a range starts inside
   * it, so the baseline ends where the recent window's first bucket starts: no tokens counted in
   * both. Default 1 (no alignment).
   */
  bucketMs?: number;
  /** Clock, injectable for tests. Default Date.now. */
  now?: () => number;
}

export type BudgetVerdict =
  | { allowed: true }
  | { allowed: false; reason: 'budget' | 'runaway'; retryAfterMs: number; message: string };

const ALLOWED: BudgetVerdict = { allowed: true };

/**
 * Per-key token budget and runaway guard (the article's bot that multiplied
 * token use by 10 in 10 minutes). The runaway guard compares a key's recent
 * token rate with its own baseline rate just before; a key with no baseline
 * yet is held only by the budget.
 */
export function createTokenBudget(store: TokenUsageStore, options: TokenBudgetOptions) {
  const now = options.now ?? Date.now;
  const { factor, recentWindowMs, baselineWindowMs, minTokens } = options.runaway;
  const bucketMs = options.bucketMs ?? 1;

  function verdict(used: number, recent: number, baseline: number): BudgetVerdict {
    if (used >= options.tokensPerWindow) {
      return {
        allowed: false,
        reason: 'budget',
        // Replaced by when the window will have room again (budgetRetryAfter), once that is read.
        retryAfterMs: options.windowMs,
        message: `Token budget of ${options.tokensPerWindow} tokens per ${Math.round(options.windowMs / 1000)}s used up for this key.`,
      };
    }
    if (recent >= minTokens && baseline > 0) {
      const baselineForRecent = (baseline * recentWindowMs) / baselineWindowMs;
      if (recent > factor * baselineForRecent) {
        return {
          allowed: false,
          reason: 'runaway',
          retryAfterMs: Math.min(recentWindowMs, 60_000),
          message: `Token use for this key jumped to more than ${factor}x its recent baseline; requests are paused.`,
        };
      }
    }
    return ALLOWED;
  }

  const fromSums = ([used = 0, recent = 0, baseline = 0]: number[]) => verdict(used, recent, baseline);

  /**
   * When a used-up budget will next admit a request: the window read as it will be after each
   * step of 1/60 of it (a minute of an hour), with no more use meanwhile. Never early, at most a
   * step late. The steps go on past one window, because the store counts whole buckets: usage
   * stays in the window until its bucket has left it. Read only on a rejection.
   */
  /** A used-up budget's verdict gets its Retry-After read (no closure on the admitted path). */
  function withRetryAfter(keyId: string, t: number, v: BudgetVerdict): MaybePromise<BudgetVerdict> {
    return !v.allowed && v.reason === 'budget' ? budgetRetryAfter(keyId, t, v) : v;
  }

  function budgetRetryAfter(keyId: string, t: number, rejected: BudgetVerdict): MaybePromise<BudgetVerdict> {
    const step = Math.max(1000, Math.ceil(options.windowMs / RETRY_STEPS));
    const ranges: TimeRange[] = [];
    for (let d = step; d <= 2 * options.windowMs; d += step) {
      const from = t + d - options.windowMs;
      ranges.push([from, Math.max(t + 1, from + 1)]);
    }
    const pick = (later: number[]): BudgetVerdict => {
      const i = later.findIndex((used) => used < options.tokensPerWindow);
      return { ...rejected, retryAfterMs: i < 0 ? 2 * options.windowMs : (i + 1) * step } as BudgetVerdict;
    };
    const later = store.sums(keyId, ranges);
    return isPromise(later) ? later.then(pick) : pick(later);
  }

  return {
    /** Synchronous with an in-memory store, a promise with Redis (MaybePromise). */
    check(keyId: string): MaybePromise<BudgetVerdict> {
      const t = now();
      const recentStart = Math.floor((t - recentWindowMs) / bucketMs) * bucketMs;
      const sums = store.sums(keyId, [
        [t - options.windowMs, t + 1],
        [t - recentWindowMs, t + 1],
        [recentStart - baselineWindowMs, recentStart],
      ]);
      if (isPromise(sums)) return sums.then((s) => withRetryAfter(keyId, t, fromSums(s)));
      return withRetryAfter(keyId, t, fromSums(sums));
    },
    record(keyId: string, tokens: number): MaybePromise<void> {
      return store.add(keyId, tokens, now());
    },
  };
}

export type TokenBudget = ReturnType<typeof createTokenBudget>;
