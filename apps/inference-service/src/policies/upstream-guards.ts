import {
  Bulkhead,
  CircuitBreaker,
  ExponentialBackoff,
  RetryBudget,
  type Backoff,
  type CircuitState,
  type GatewayError,
} from '@llmgw/resilience';
import { LRUCache } from 'lru-cache';
import type { UpstreamGuard, UpstreamLease } from '../chat/attempts.ts';
import type { Candidate } from '../chat/candidates.ts';
import type { CircuitBreakerTerms, RetryTerms } from '../registry/registry.ts';

/** The agreement's per-upstream terms the guards are built from (merged defaults). */
export interface GuardSettings {
  retry: Pick<RetryTerms, 'initialDelayMs' | 'multiplier' | 'maxDelayMs' | 'jitter' | 'maxRetryAfterMs' | 'budgetRatio' | 'budgetMinPerSecond'>;
  circuitBreaker: CircuitBreakerTerms;
  bulkhead: { maxConcurrent: number; maxQueue: number };
}

/** A candidate's own breaker settings (per-model overrides in the agreement or routes file). */
export interface CandidateBreakerSettings {
  circuitBreaker?: Partial<GuardSettings['circuitBreaker']>;
}

export interface GuardEvents {
  onBreakerTransition(candidate: string, from: CircuitState, to: CircuitState): void;
}

export interface UpstreamGuardsOptions {
  settings: GuardSettings;
  events: GuardEvents;
  /** Clock for breakers and budgets. Default Date.now. */
  now?: () => number;
  /** Random source for jitter. Default Math.random. */
  random?: () => number;
  /** Upstream models tracked (pattern routes can name many). Default 1000. */
  maxUpstreams?: number;
}

/**
 * One set of policies per upstream model (breaker, retry budget) and per
 * provider (bulkhead), made on first use and kept. Breaker state stays in
 * this instance: a breaker reacts to what this instance sees, within
 * milliseconds, without a shared-store round trip on every call (see README).
 */
export function createUpstreamGuards(options: UpstreamGuardsOptions) {
  const { settings, events } = options;
  const now = options.now ?? Date.now;
  const backoff = new ExponentialBackoff({
    initialDelayMs: settings.retry.initialDelayMs,
    multiplier: settings.retry.multiplier,
    maxDelayMs: settings.retry.maxDelayMs,
    jitter: settings.retry.jitter,
    random: options.random,
  });
  const guards = new LRUCache<string, UpstreamGuard & { breaker: CircuitBreaker; names: Set<string> }>({ max: options.maxUpstreams ?? 1000 });
  const bulkheads = new Map<string, Bulkhead>();

  function bulkheadFor(provider: string): Bulkhead {
    let b = bulkheads.get(provider);
    if (!b) {
      b = new Bulkhead({ maxConcurrent: settings.bulkhead.maxConcurrent, maxQueue: settings.bulkhead.maxQueue, name: provider });
      bulkheads.set(provider, b);
    }
    return b;
  }

  function make(candidate: Candidate & CandidateBreakerSettings) {
    const cb = { ...settings.circuitBreaker, ...candidate.circuitBreaker };
    const breaker = new CircuitBreaker({
      name: candidate.requested,
      consecutiveFailures: cb.consecutiveFailures,
      failureRatio: cb.failureRatio,
      windowMs: cb.windowMs,
      minThroughput: cb.minThroughput,
      halfOpenAfterMs: cb.halfOpenAfterMs,
      halfOpenMaxProbes: cb.halfOpenMaxProbes,
      now,
    });
    // Every route that calls this upstream model shares the breaker, and is reported by its own name.
    const names = new Set([candidate.name]);
    breaker.onStateChange(({ from, to }) => {
      for (const name of names) events.onBreakerTransition(name, from, to);
    });
    const budget = new RetryBudget({ ratio: settings.retry.budgetRatio, minRetriesPerSecond: settings.retry.budgetMinPerSecond, now });
    const bulkhead = bulkheadFor(candidate.provider.name);
    const guard: UpstreamGuard & { breaker: CircuitBreaker; names: Set<string> } = {
      breaker,
      names,
      available: () => breaker.canAttempt(),
      run: (fn, signal) => breaker.execute(() => bulkhead.execute((c) => fn(c.signal), signal), signal),
      async open(fn, signal) {
        // A stream's verdict comes at its end, not at its first token: counted then, once, so a
        // stream that breaks mid-answer is one failure (not a success followed by a failure,
        // which reset the run of consecutive failures). Its bulkhead slot is held as long: a long
        // stream holds an upstream connection, and calls beyond the limit wait in the bulkhead's
        // bounded queue rather than in the connection pool, where their first-token clock runs.
        const permit = breaker.begin();
        let giveBack: () => void;
        try {
          giveBack = await bulkhead.acquire(signal);
        } catch (error) {
          permit.fail(error);
          throw error;
        }
        // Both halves are idempotent, so the lease is settled by its first call.
        const lease: UpstreamLease = {
          succeed() {
            giveBack();
            permit.succeed();
          },
          fail(error) {
            giveBack();
            permit.fail(error);
          },
          release() {
            giveBack();
            permit.release();
          },
        };
        try {
          return { value: await fn(signal), lease };
        } catch (error) {
          lease.fail(error);
          throw error;
        }
      },
      recordRequest: () => budget.recordRequest(),
      tryAcquireRetry: () => budget.tryAcquireRetry(),
      retryDelay: (attempt: number, error: GatewayError) => retryDelay(backoff, settings.retry.maxRetryAfterMs, attempt, error),
    };
    return guard;
  }

  return {
    guardFor(candidate: Candidate & CandidateBreakerSettings): UpstreamGuard {
      const key = `${candidate.provider.name}\u0000${candidate.upstreamModel}`;
      let guard = guards.get(key);
      if (!guard) {
        guard = make(candidate);
        guards.set(key, guard);
      } else if (!guard.names.has(candidate.name)) {
        // Another route onto the same upstream model: its gauge starts at the shared breaker's state.
        guard.names.add(candidate.name);
        const state = guard.breaker.state;
        if (state !== 'closed') events.onBreakerTransition(candidate.name, 'closed', state);
      }
      return guard;
    },
    /**
     * Breaker states for /readyz and the state gauge, one per route name (routes onto the same
     * upstream model share a breaker). Reading a state moves an open breaker whose wait is over to
     * half-open, which reports the transition: /metrics reads them before each scrape.
     */
    states(): Array<{ candidate: string; state: CircuitState }> {
      const out: Array<{ candidate: string; state: CircuitState }> = [];
      for (const g of guards.values()) {
        const state = g.breaker.state;
        for (const name of g.names) out.push({ candidate: name, state });
      }
      return out;
    },
  };
}

export type UpstreamGuards = ReturnType<typeof createUpstreamGuards>;

/**
 * Delay before retry `attempt` (1-based): the upstream's Retry-After when it
 * gave one (a hint beyond the cap means "not soon": stop and fail over),
 * else jittered exponential backoff.
 */
export function retryDelay(backoff: ExponentialBackoff, maxRetryAfterMs: number, attempt: number, error: GatewayError): number | undefined {
  if (error.retryAfterMs !== undefined) return error.retryAfterMs <= maxRetryAfterMs ? error.retryAfterMs : undefined;
  let step: Backoff = backoff.first();
  for (let i = 1; i < attempt; i++) step = step.next();
  return step.delayMs;
}
