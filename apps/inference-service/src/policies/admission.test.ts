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

function admission(overrides: { requests?: RateLimiterStore; onStoreError?: 'open' | 'closed' } = {}) {
  const errors: string[] = [];
  const rejections: string[] = [];
  const control = createAdmission({
    requests: overrides.requests ?? memoryRateLimiter({ points: 2, durationSeconds: 60 }),
    tokens: memoryRateLimiter({ points: 1000, durationSeconds: 60 }),
    budget: createTokenBudget(memoryTokenUsage(), { tokensPerWindow: 10_000, windowMs: 3_600_000, runaway: { factor: 10, recentWindowMs: 600_000, baselineWindowMs: 3_600_000, minTokens: 100 } }),
    onStoreError: overrides.onStoreError,
    reportStoreError: (store) => errors.push(store),
    reportRejection: (kind) => rejections.push(kind),
  });
  return { control, errors, rejections };
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

  it('rejects when the token estimate does not fit', async () => {
    const { control, rejections } = admission();
    const res = await control.admit('k', 5000);
    expect(res.rejection?.message).toMatch(/Token rate limit/);
    expect(rejections).toEqual(['tokens']);
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
