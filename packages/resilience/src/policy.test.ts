import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExponentialBackoff } from './backoff.ts';
import { Bulkhead } from './bulkhead.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { GatewayError } from './errors.ts';
import { noopPolicy, toContext, wrap, type Policy, type PolicyContext } from './policy.ts';
import { RetryPolicy } from './retry.ts';
import { TimeoutPolicy } from './timeout.ts';

/** A policy that records when it is entered and left. */
function tracer(name: string, log: string[]): Policy {
  return {
    async execute(fn, options) {
      log.push(`${name}>`);
      try {
        return await fn(toContext(options));
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

describe('wrap', () => {
  it('the first policy is the outermost', async () => {
    const log: string[] = [];
    const result = await wrap(tracer('a', log), tracer('b', log), tracer('c', log)).execute(() => {
      log.push('fn');
      return 42;
    });
    expect(result).toBe(42);
    expect(log).toEqual(['a>', 'b>', 'c>', 'fn', '<c', '<b', '<a']);
  });

  it('with no policies runs fn directly; with one returns it', async () => {
    expect(wrap()).toBe(noopPolicy);
    const p = tracer('x', []);
    expect(wrap(p)).toBe(p);
    const controller = new AbortController();
    const ctx = await wrap().execute((c) => c, { signal: controller.signal, deadline: 5 });
    expect(ctx).toEqual({ signal: controller.signal, deadline: 5, attempt: 1 });
  });

  it('hands the same context through pass-through policies', async () => {
    const controller = new AbortController();
    const seen: PolicyContext[] = [];
    await wrap(tracer('a', []), tracer('b', [])).execute((ctx) => seen.push(ctx), controller.signal);
    expect(seen[0]?.signal).toBe(controller.signal);
  });
});

describe('recommended pipeline: bulkhead -> breaker -> retry -> per-attempt timeout', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  function pipeline() {
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 0 });
    const breaker = new CircuitBreaker({ consecutiveFailures: 2, failureRatio: false, halfOpenAfterMs: 60_000 });
    const retry = new RetryPolicy({ backoff: new ExponentialBackoff({ jitter: 'none' }) });
    const attemptTimeout = new TimeoutPolicy(5000);
    return { breaker, retry, policy: wrap(bulkhead, breaker, retry, attemptTimeout) };
  }

  it('a hanging attempt times out, is retried with a fresh signal, and the call succeeds', async () => {
    const { policy, breaker } = pipeline();
    const signals: AbortSignal[] = [];
    const fn = vi.fn((ctx: PolicyContext) => {
      signals.push(ctx.signal);
      return ctx.attempt === 1 ? new Promise<string>(() => {}) : Promise.resolve(`ok on ${ctx.attempt}`);
    });
    const result = policy.execute(fn, { deadline: 30_000 });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok on 2');
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
    expect(breaker.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the breaker counts one failure per call (not per attempt), then short-circuits', async () => {
    const { policy, breaker } = pipeline();
    const fn = vi.fn(async () => {
      throw GatewayError.fromStatus(503, { message: 'down' });
    });
    for (let i = 0; i < 2; i++) {
      const r = policy.execute(fn);
      const settled = expect(r).rejects.toMatchObject({ status: 503 });
      await vi.runAllTimersAsync();
      await settled;
    }
    expect(fn).toHaveBeenCalledTimes(6);
    expect(breaker.state).toBe('open');
    await expect(policy.execute(fn)).rejects.toMatchObject({ code: 'circuit_open' });
    expect(fn).toHaveBeenCalledTimes(6);
  });

  it('the caller deadline bounds the whole call, retries included', async () => {
    const { policy } = pipeline();
    const fn = vi.fn(() => new Promise<string>(() => {}));
    const result = policy.execute(fn, { deadline: 7000 });
    const settled = expect(result).rejects.toMatchObject({ code: 'upstream_timeout' });
    await vi.runAllTimersAsync();
    await settled;
    // attempt 1: 0..5000; wait 1000; attempt 2 is cut to the 1000 ms left; no third attempt.
    expect(fn).toHaveBeenCalledTimes(2);
    expect(Date.now()).toBe(7000);
  });
});
