import { describe, expect, it } from 'vitest';
import { memoryRateLimiter } from '../stores/memory/rate-limiter.ts';
import { memoryTokenUsage } from '../stores/memory/token-usage.ts';
import { createAdmission, formatDuration } from './admission.ts';
import { createTokenBudget } from './token-budget.ts';
import type { RateLimiterStore } from '../stores/types.ts';

describe('formatDuration (OpenAI reset header format)', () => {
  const cases: Array<[number, string]> = [
    [0, '0ms'],
    [20, '20ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1001, '2s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [3_723_000, '1h2m3s'],
  ];
  it.each(cases)('%i ms -> %s', (ms, want) => expect(formatDuration(ms)).toBe(want));
});

function admission(overrides: { requests?: RateLimiterStore; tokens?: RateLimiterStore; onStoreError?: 'open' | 'closed' } = {}) {
  const errors: string[] = [];
  const rejections: string[] = [];
  const clock = { t: 1_800_000_000_000 };
  const now = () => clock.t;
  const control = createAdmission({
    requests: overrides.requests ?? memoryRateLimiter({ points: 2, durationSeconds: 60, now }),
    reads: memoryRateLimiter({ points: 20, durationSeconds: 60, now }),
    tokens: overrides.tokens ?? memoryRateLimiter({ points: 1000, durationSeconds: 60, now }),
    budget: createTokenBudget(memoryTokenUsage(), { tokensPerWindow: 10_000, windowMs: 3_600_000, runaway: { factor: 10, recentWindowMs: 600_000, baselineWindowMs: 3_600_000, minTokens: 100 }, now }),
    onStoreError: overrides.onStoreError,
    reportStoreError: (store) => errors.push(store),
    reportRejection: (kind) => rejections.push(kind),
    now,
  });
  return { control, errors, rejections, clock };
}

describe('admission', () => {
  it('admits up to the request limit, then 429 with Retry-After and headers', async () => {
    const { control, rejections } = admission();
    expect((await control.admit('k', 10)).rejection).toBeUndefined();
    expect((await control.admit('k', 10)).rejection).toBeUndefined();
    const third = await control.admit('k', 10);
    expect(third.rejection?.code).toBe('rate_limit_exceeded');
    expect(third.rejection?.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(third.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(rejections).toEqual(['requests']);
    expect((await control.admit('other', 10)).rejection).toBeUndefined();
  });

  it('rejects when the token estimate does not fit what is left, and charges nothing for it', async () => {
    const { control, rejections } = admission({ requests: memoryRateLimiter({ points: 100, durationSeconds: 60 }) });
    expect((await control.admit('k', 900)).headers['x-ratelimit-remaining-tokens']).toBe('100');
    const res = await control.admit('k', 200);
    expect(res.rejection).toMatchObject({ code: 'rate_limit_exceeded', status: 429 });
    expect(res.rejection?.message).toMatch(/Token rate limit of 1000/);
    expect(res.headers['x-ratelimit-remaining-tokens']).toBe('100');
    expect(rejections).toEqual(['tokens']);
    // The refused 200 tokens were not taken: a request that fits still passes.
    expect((await control.admit('k', 100)).rejection).toBeUndefined();
  });

  it('refuses an estimate over the whole limit as a bad request, not a 429 to retry, and charges nothing', async () => {
    const { control, rejections } = admission();
    const res = await control.admit('k', 5000);
    expect(res.rejection).toMatchObject({ code: 'invalid_request', status: 400, retryable: false, param: 'messages' });
    expect(res.rejection?.retryAfterMs).toBeUndefined();
    expect(res.rejection?.message).toMatch(/about 5000 tokens .* limit of 1000 tokens per minute/);
    expect(rejections).toEqual([]);
    expect((await control.admit('k', 10)).headers['x-ratelimit-remaining-tokens']).toBe('990');
  });

  it('sends a refused request back after every limit it is short of has reset', async () => {
    const { control, clock } = admission();
    await control.admit('k', 10); // both windows start at t0
    clock.t += 30_000;
    await control.admit('k', 10);
    clock.t += 31_000; // the request window (t0 + 60 s) has reset, the token window restarts here
    await control.admit('k', 990);
    await control.admit('k', 5);
    const third = await control.admit('k', 10);
    // Short of requests (reset in 60 s) and of tokens (5 left, reset in 60 s): the later of the two.
    expect(third.rejection?.code).toBe('rate_limit_exceeded');
    expect(third.rejection?.retryAfterMs).toBe(60_000);
    clock.t += 59_000;
    const again = await control.admit('k', 10);
    expect(again.rejection?.retryAfterMs).toBe(1000);
  });

  const broken: RateLimiterStore = {
    consume: () => Promise.reject(new Error('ECONNREFUSED')),
    penalize: () => Promise.reject(new Error('ECONNREFUSED')),
    peek: () => Promise.reject(new Error('ECONNREFUSED')),
  };
  it('fails open by default when the store is down, and reports it', async () => {
    const { control, errors } = admission({ requests: broken });
    expect((await control.admit('k', 10)).rejection).toBeUndefined();
    expect(errors).toContain('rate_limit');
  });

  it('sends no x-ratelimit headers for a limit whose store did not answer (not zeros)', async () => {
    const { control } = admission({ requests: broken });
    const res = await control.admit('k', 10);
    expect(res.rejection).toBeUndefined();
    expect(Object.keys(res.headers)).toEqual([]);
  });

  it('after a slow store failure, skips the stores for a second instead of making every request wait for them', async () => {
    const calls: string[] = [];
    const { control, errors, clock } = admission({ requests: slowStore('requests'), tokens: slowStore('tokens') });
    /** A store that fails after its 500 ms command timeout. */
    function slowStore(name: string): RateLimiterStore {
      const timedOut = () => {
        calls.push(name);
        return Promise.resolve().then(() => {
          clock.t += 500;
          throw new Error('Command timed out');
        });
      };
      return { consume: timedOut, penalize: timedOut, peek: timedOut };
    }
    expect((await control.admit('k', 10)).rejection).toBeUndefined();
    // One failed call per request: the token limit and the budget were not asked after it.
    expect(calls).toEqual(['requests']);
    expect(errors).toEqual(['rate_limit']);
    clock.t += 999;
    expect((await control.admit('k', 10)).rejection).toBeUndefined();
    // Not called, and still counted: the failure policy applied to this request too.
    expect(calls).toEqual(['requests']);
    expect(errors).toEqual(['rate_limit', 'rate_limit']);
    clock.t += 1;
    await control.admit('k', 10);
    expect(calls).toEqual(['requests', 'requests']);
  });

  it('asks the stores again on the next request after a failure that came at once (a refused connection)', async () => {
    let calls = 0;
    const refused: RateLimiterStore = { ...broken, consume: () => (calls++, Promise.reject(new Error('ECONNREFUSED'))) };
    const { control, errors } = admission({ requests: refused });
    await control.admit('k', 10);
    await control.admit('k', 10);
    expect(calls).toBe(2);
    expect(errors).toEqual(['rate_limit', 'rate_limit']);
  });

  it('fails closed with 503 when configured', async () => {
    const { control } = admission({ requests: broken, onStoreError: 'closed' });
    const res = await control.admit('k', 10);
    expect(res.rejection?.status).toBe(503);
  });

  // A synchronous store (the in-memory kind) that throws is handled like one that rejects.
  const throwing: RateLimiterStore = {
    consume: () => {
      throw new Error('broken');
    },
    penalize: () => {
      throw new Error('broken');
    },
    peek: () => {
      throw new Error('broken');
    },
  };
  it('treats a store that throws as one that is down, open or closed', async () => {
    const open = admission({ requests: throwing });
    expect((await open.control.admit('k', 10)).rejection).toBeUndefined();
    expect(open.errors).toEqual(['rate_limit']);
    const closed = admission({ requests: throwing, onStoreError: 'closed' });
    expect((await closed.control.admit('k', 10)).rejection?.status).toBe(503);
  });

  it('answers without a promise with the in-memory stores, and with one when a store is asynchronous', async () => {
    const { control } = admission();
    const sync = control.admit('k', 10);
    expect(sync).not.toBeInstanceOf(Promise);
    expect(sync).toMatchObject({ headers: { 'x-ratelimit-remaining-requests': '1' } });
    expect(control.settle('k', 10, 30)).toBeUndefined();
    const slow = admission({ requests: { ...memoryRateLimiter({ points: 2, durationSeconds: 60 }), consume: async () => ({ allowed: true, limit: 2, remaining: 1, resetMs: 60_000 }) } });
    const pending = slow.control.admit('k', 10);
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).rejection).toBeUndefined();
  });
});
