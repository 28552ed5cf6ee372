import { GatewayError } from '@llmgw/resilience';
import { isPromise, type LimitDecision, type MaybePromise, type RateLimiterStore } from '../stores/types.ts';
import type { BudgetVerdict, TokenBudget } from './token-budget.ts';

export interface AdmissionOptions {
  requests: RateLimiterStore;
  /** Reads' own window (model lookups, job polls): see READS_PER_REQUEST in stores/types.ts. */
  reads: RateLimiterStore;
  tokens: RateLimiterStore;
  budget: TokenBudget;
  /**
   * What to do when a shared store (Redis) cannot be reached: 'open' lets the
   * request through (availability first), 'closed' rejects it with 503.
   * Default 'open'.
   */
  onStoreError?: 'open' | 'closed';
  /** Told about every store failure (metric + log line). */
  reportStoreError: (store: string, error: unknown) => void;
  /** Told about every rejection (metric). */
  reportRejection: (kind: 'requests' | 'tokens' | 'reads' | 'budget' | 'runaway') => void;
  /**
   * After a store call failed slowly (a command timeout, not a refused connection, which fails
   * at once), the stores are not asked again for this long: requests get the failure policy's
   * answer at once instead of each waiting out the timeout, and commands do not pile up in the
   * client while the store is slow. Default 1000 ms.
   */
  storeHoldOffMs?: number;
  /** Clock for the hold-off. Default Date.now. */
  now?: () => number;
}

export interface Admission {
  /** The contract's x-ratelimit-* headers, for every answer after auth. */
  headers: Record<string, string>;
  /** Set when the request must be refused (429 or, fail-closed, 503). */
  rejection?: GatewayError;
}

const UNKNOWN: LimitDecision = { allowed: true, limit: 0, remaining: 0, resetMs: 0 };
const ALLOWED: BudgetVerdict = { allowed: true };
/** A store call that took this long to fail was waited for: the hold-off starts. */
const SLOW_FAILURE_MS = 50;
/** What a call skipped in the hold-off is reported as (counted like a failed call: the policy applied). */
const HELD_OFF = new Error('not called: the store failed slowly within the hold-off');

/**
 * Rate limits (requests and tokens per minute, per key) and the token budget,
 * checked in that order before any upstream work. Tokens are estimated up
 * front and settled with the real count afterwards.
 */
export function createAdmission(options: AdmissionOptions) {
  const failOpen = (options.onStoreError ?? 'open') === 'open';
  const holdOffMs = options.storeHoldOffMs ?? 1000;
  const now = options.now ?? Date.now;
  /** The stores are not called before this time (set by a failure). */
  let heldOffUntil = 0;

  /**
   * A store call that cannot throw: a failure is reported and answered with `fallback`.
   * Synchronous when the store is (the in-memory ones), a promise when it is not (Redis).
   */
  function guarded<T>(store: string, fn: () => MaybePromise<T>, fallback: T): MaybePromise<Guarded<T>> {
    if (heldOffUntil !== 0) {
      if (now() < heldOffUntil) {
        options.reportStoreError(store, HELD_OFF);
        return { value: fallback, failed: true };
      }
      heldOffUntil = 0;
    }
    let value: MaybePromise<T>;
    try {
      value = fn();
    } catch (err) {
      return failed(store, err, fallback);
    }
    if (!isPromise(value)) return { value, failed: false };
    const started = now();
    return value.then(
      (v) => ({ value: v, failed: false }),
      (err: unknown) => failed(store, err, fallback, now() - started),
    );
  }

  function failed<T>(store: string, err: unknown, fallback: T, tookMs = 0): Guarded<T> {
    options.reportStoreError(store, err);
    if (tookMs >= SLOW_FAILURE_MS) heldOffUntil = now() + holdOffMs;
    return { value: fallback, failed: true };
  }

  function storeDown(): GatewayError {
    return new GatewayError({
      code: 'upstream_unavailable',
      message: 'The shared rate-limit store is unreachable and this deployment fails closed.',
      retryAfterMs: 1000,
    });
  }

  /** Rate limits, checked once both decisions are in: a rejection, or on to the budget. */
  function limits(keyId: string, estimatedTokens: number, req: Guarded<LimitDecision>, tok: Guarded<LimitDecision>): MaybePromise<Admission> {
    if (tok.failed && !failOpen) return { headers: {}, rejection: storeDown() };
    const headers = rateLimitHeaders(req, tok);
    if (req.value.allowed && !tok.value.allowed && estimatedTokens > tok.value.limit) {
      // No window will ever hold it: a 429 would send the client back to fail again.
      return { headers, rejection: tooLarge(estimatedTokens, tok.value.limit) };
    }
    if (!req.value.allowed || !tok.value.allowed) {
      options.reportRejection(req.value.allowed ? 'tokens' : 'requests');
      // The request may pass once every limit it is short of has reset (the token window was only peeked).
      const tokensShort = !tok.value.allowed || (!tok.failed && tok.value.remaining < estimatedTokens);
      const resetMs = Math.max(req.value.allowed ? 0 : req.value.resetMs, tokensShort ? tok.value.resetMs : 0);
      return {
        headers,
        rejection: new GatewayError({
          code: 'rate_limit_exceeded',
          message: req.value.allowed
            ? `Token rate limit of ${tok.value.limit} per minute reached for this key.`
            : `Request rate limit of ${req.value.limit} per minute reached for this key.`,
          retryAfterMs: Math.max(1000, resetMs),
        }),
      };
    }
    // The stores already failed once for this request: do not wait for them a second time.
    if (req.failed || tok.failed) return { headers };
    return then(guarded('token_budget', () => options.budget.check(keyId), ALLOWED), (verdict) => budget(headers, verdict));
  }

  function tooLarge(estimatedTokens: number, limit: number): GatewayError {
    return new GatewayError({
      code: 'invalid_request',
      param: 'messages',
      message:
        `This request needs about ${estimatedTokens} tokens (the prompt plus max_tokens, or 256 when not given), ` +
        `more than this key's limit of ${limit} tokens per minute. Shorten the prompt or lower max_tokens.`,
    });
  }

  function budget(headers: Record<string, string>, verdict: Guarded<BudgetVerdict>): Admission {
    if (verdict.failed && !failOpen) return { headers, rejection: storeDown() };
    if (!verdict.value.allowed) {
      options.reportRejection(verdict.value.reason);
      return {
        headers,
        rejection: new GatewayError({
          code: 'token_budget_exceeded',
          message: verdict.value.message,
          retryAfterMs: verdict.value.retryAfterMs,
        }),
      };
    }
    return { headers };
  }

  return {
    /** Synchronous with the in-memory stores, a promise with Redis: `await` only a promise (isPromise). */
    admit(keyId: string, estimatedTokens: number): MaybePromise<Admission> {
      return then(guarded('rate_limit', () => options.requests.consume(keyId, 1), UNKNOWN), (req) => {
        if (req.failed && !failOpen) return { headers: {}, rejection: storeDown() };
        // Only charge tokens when the request itself is admitted.
        const tok = req.failed
          ? { value: UNKNOWN, failed: true }
          : req.value.allowed
            ? guarded('rate_limit', () => options.tokens.consume(keyId, estimatedTokens), UNKNOWN)
            : guarded('rate_limit', () => options.tokens.peek(keyId), UNKNOWN);
        return then(tok, (t) => limits(keyId, estimatedTokens, req, t));
      });
    },

    /**
     * Reads that spend no tokens (model lookups, job polls), in their own window: a key that
     * loops on them is held to a rate, and polling a job does not use up the requests its chats
     * need. They carry no x-ratelimit-* headers (those describe the chat windows). A store that
     * cannot be reached lets them through whatever the failure policy (they cost the upstreams nothing).
     * Resolves to the refusal, or undefined when admitted.
     */
    admitRead(keyId: string): MaybePromise<GatewayError | undefined> {
      return then(guarded('rate_limit', () => options.reads.consume(keyId, 1), UNKNOWN), (read) => {
        if (read.failed || read.value.allowed) return undefined;
        options.reportRejection('reads');
        return new GatewayError({
          code: 'rate_limit_exceeded',
          message: `Read rate limit of ${read.value.limit} per minute (model lookups and job polls) reached for this key.`,
          retryAfterMs: Math.max(1000, read.value.resetMs),
        });
      });
    },

    /** Books the real token count once known (the estimate was already charged). Never throws or rejects. */
    settle(keyId: string, estimatedTokens: number, actualTokens: number): MaybePromise<void> {
      const extra = actualTokens - estimatedTokens;
      const penalty = extra > 0 ? guarded('rate_limit', () => options.tokens.penalize(keyId, extra), undefined) : undefined;
      const record = guarded('token_budget', () => options.budget.record(keyId, actualTokens), undefined);
      if (isPromise(penalty) || isPromise(record)) return Promise.all([penalty, record]).then(() => undefined);
    },
  };
}

export interface Guarded<T> {
  value: T;
  failed: boolean;
}

/** `f(value)`, after the promise when it is one: no microtask turn for a value already there. */
function then<T, U>(value: MaybePromise<T>, f: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(value) ? value.then(f) : f(value);
}

export type AdmissionControl = ReturnType<typeof createAdmission>;

/**
 * The contract's x-ratelimit-* headers. A limit whose store did not answer (failing open) has
 * none: zeros would tell a client-side limiter to stop when nothing is limited.
 */
export function rateLimitHeaders(req: Guarded<LimitDecision>, tok: Guarded<LimitDecision>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!req.failed) {
    headers['x-ratelimit-limit-requests'] = String(req.value.limit);
    headers['x-ratelimit-remaining-requests'] = String(req.value.remaining);
    headers['x-ratelimit-reset-requests'] = formatDuration(req.value.resetMs);
  }
  if (!tok.failed) {
    headers['x-ratelimit-limit-tokens'] = String(tok.value.limit);
    headers['x-ratelimit-remaining-tokens'] = String(tok.value.remaining);
    headers['x-ratelimit-reset-tokens'] = formatDuration(tok.value.resetMs);
  }
  return headers;
}

/** OpenAI's duration format: `20ms`, `1s`, `6m0s`, `1h2m3s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
