import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExponentialBackoff } from './backoff.ts';
import { GatewayError, isGatewayError } from './errors.ts';
import { RetryBudget } from './retry-budget.ts';
import { RetryPolicy, retry, type GiveUpEvent, type RetryEvent } from './retry.ts';

const NO_JITTER = new ExponentialBackoff({ jitter: 'none' });
const http = (status: number, retryAfterMs?: number) =>
  GatewayError.fromStatus(status, { message: `HTTP ${status}`, retryAfterMs });

/** fn that fails with the given errors in order, then succeeds. */
function script(...failures: unknown[]) {
  const calls: { attempt: number; at: number }[] = [];
  const fn = vi.fn(async (ctx: { attempt: number }) => {
    calls.push({ attempt: ctx.attempt, at: Date.now() });
    const next = failures.shift();
    if (next !== undefined) throw next;
    return 'ok';
  });
  return { fn, calls };
}

function observe(policy: RetryPolicy) {
  const retries: RetryEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  policy.onRetry((e) => retries.push(e));
  policy.onGiveUp((e) => giveUps.push(e));
  return { retries, giveUps };
}

describe('RetryPolicy', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('retries 503s with 1 s then 2 s backoff and returns the success', async () => {
    const policy = new RetryPolicy({ backoff: NO_JITTER });
    const { retries } = observe(policy);
    const { fn, calls } = script(http(503), http(503));
    const result = policy.execute(fn);
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(calls).toEqual([
      { attempt: 1, at: 0 },
      { attempt: 2, at: 1000 },
      { attempt: 3, at: 3000 },
    ]);
    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 1000],
      [2, 2000],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops after maxAttempts (default 3) and rethrows the last error', async () => {
    const policy = new RetryPolicy({ backoff: NO_JITTER });
    const { giveUps } = observe(policy);
    const last = http(502);
    const { fn } = script(http(503), http(504), last);
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toBe(last);
    await vi.runAllTimersAsync();
    await settled;
    expect(fn).toHaveBeenCalledTimes(3);
    expect(giveUps).toEqual([{ attempt: 3, reason: 'max-attempts', error: last }]);
  });

  it.each([400, 401, 403, 404, 413, 415, 422])('never retries %i', async (status) => {
    const policy = new RetryPolicy();
    const { giveUps } = observe(policy);
    const { fn } = script(http(status));
    await expect(policy.execute(fn)).rejects.toMatchObject({ status });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(giveUps[0]?.reason).toBe('not-retryable');
  });

  it('never retries content filter, context length, silent upstreams or unknown bugs', async () => {
    const errors = [
      new GatewayError({ code: 'content_policy_violation', message: 'm', kind: 'content_filter' }),
      new GatewayError({ code: 'context_length_exceeded', message: 'm', kind: 'context_length' }),
      new GatewayError({ code: 'upstream_timeout', message: 'm', kind: 'silent' }),
      new GatewayError({ code: 'upstream_timeout', message: 'm', kind: 'timeout_first_token' }),
      new RangeError('bug'),
    ];
    for (const error of errors) {
      const { fn } = script(error);
      await expect(new RetryPolicy().execute(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    }
  });

  it('retries network errors, resets and truncated streams', async () => {
    const policy = new RetryPolicy({ backoff: NO_JITTER, maxAttempts: 4 });
    const { fn } = script(
      new TypeError('fetch failed'),
      new GatewayError({ code: 'upstream_unavailable', message: 'ECONNRESET', kind: 'network' }),
      new GatewayError({ code: 'stream_interrupted', message: 'cut', kind: 'stream_truncated' }),
    );
    const result = policy.execute(fn);
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('honours Retry-After instead of the backoff', async () => {
    const policy = new RetryPolicy({ backoff: NO_JITTER });
    const { retries } = observe(policy);
    const { fn, calls } = script(http(429, 2500));
    const result = policy.execute(fn);
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(calls[1]?.at).toBe(2500);
    expect(retries[0]?.delayMs).toBe(2500);
  });

  it('a Retry-After above the cap gives up at once by default (error keeps the hint)', async () => {
    const policy = new RetryPolicy({ maxRetryAfterMs: 10_000 });
    const { giveUps } = observe(policy);
    const err = http(429, 60_000);
    const { fn } = script(err);
    await expect(policy.execute(fn)).rejects.toMatchObject({ retryAfterMs: 60_000 });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(giveUps[0]?.reason).toBe('retry-after-too-long');
  });

  it("'wait-cap' waits only the cap for a long Retry-After", async () => {
    const policy = new RetryPolicy({ maxRetryAfterMs: 10_000, onLongRetryAfter: 'wait-cap' });
    const { fn, calls } = script(http(429, 60_000));
    const result = policy.execute(fn);
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(calls[1]?.at).toBe(10_000);
  });

  it('never sleeps past the caller deadline', async () => {
    const policy = new RetryPolicy({ backoff: NO_JITTER });
    const { giveUps } = observe(policy);
    const { fn } = script(http(503), http(503));
    // 1 s wait fits (ends at 1000 < 2500); the 2 s wait would end at 3000 > 2500.
    const result = policy.execute(fn, { deadline: 2500 });
    const settled = expect(result).rejects.toMatchObject({ status: 503 });
    await vi.runAllTimersAsync();
    await settled;
    expect(fn).toHaveBeenCalledTimes(2);
    expect(giveUps[0]).toMatchObject({ attempt: 2, reason: 'deadline' });
    expect(Date.now()).toBe(1000);
  });

  it('a Retry-After beyond the deadline gives up without waiting', async () => {
    const policy = new RetryPolicy();
    const { fn } = script(http(503, 5000));
    await expect(policy.execute(fn, { deadline: 4000 })).rejects.toMatchObject({ status: 503 });
    expect(Date.now()).toBe(0);
  });

  it('passes the deadline and signal down to fn', async () => {
    const controller = new AbortController();
    const seen: unknown[] = [];
    await new RetryPolicy().execute((ctx) => seen.push(ctx.signal, ctx.deadline, ctx.attempt), {
      signal: controller.signal,
      deadline: 99,
    });
    expect(seen).toEqual([controller.signal, 99, 1]);
  });

  it('an abort during the wait rejects at once with an aborted error and clears the timer', async () => {
    const policy = new RetryPolicy({ backoff: NO_JITTER });
    const { giveUps } = observe(policy);
    const controller = new AbortController();
    const { fn } = script(http(503));
    const result = policy.execute(fn, controller.signal);
    const settled = expect(result).rejects.toMatchObject({ kind: 'aborted' });
    await vi.advanceTimersByTimeAsync(500);
    controller.abort();
    await settled;
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(giveUps[0]?.reason).toBe('aborted');
  });

  it('an error caused by the caller abort is not retried', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      controller.abort();
      throw new TypeError('fetch failed'); // what fetch throws mid-abort in some runtimes
    });
    await expect(new RetryPolicy().execute(fn, controller.signal)).rejects.toMatchObject({ kind: 'aborted' });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not start when already aborted', async () => {
    const fn = vi.fn(async () => 'x');
    await expect(new RetryPolicy().execute(fn, AbortSignal.abort())).rejects.toSatisfy(isGatewayError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('consults the shared retry budget', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000 }); // 1 retry per window
    const policy = new RetryPolicy({ backoff: NO_JITTER, budget });
    const { giveUps } = observe(policy);
    const first = script(http(503));
    const r1 = policy.execute(first.fn);
    await vi.runAllTimersAsync();
    await expect(r1).resolves.toBe('ok');
    const second = script(http(503));
    await expect(policy.execute(second.fn)).rejects.toMatchObject({ status: 503 });
    expect(second.fn).toHaveBeenCalledTimes(1);
    expect(giveUps.at(-1)?.reason).toBe('budget');
    expect(budget.snapshot().requests).toBe(2);
  });

  it('uses an injected decide()', async () => {
    const policy = new RetryPolicy({ backoff: NO_JITTER, decide: () => 'retry' });
    const { fn } = script(new Error('anything'));
    const result = policy.execute(fn);
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
  });

  it('retry() helper', async () => {
    const { fn } = script(http(500));
    const result = retry(fn, { maxAttempts: 2, backoff: NO_JITTER });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
  });

  it('default backoff is jittered within 0..1000 ms for the first retry', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    try {
      const policy = new RetryPolicy({ backoff: new ExponentialBackoff() });
      const { retries } = observe(policy);
      const { fn } = script(http(503));
      const result = policy.execute(fn);
      await vi.runAllTimersAsync();
      await result;
      expect(retries[0]?.delayMs).toBe(250);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
