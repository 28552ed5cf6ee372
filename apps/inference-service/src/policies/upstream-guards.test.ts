import { ExponentialBackoff, GatewayError, isGatewayError } from '@llmgw/resilience';
import { describe, expect, it } from 'vitest';
import type { Candidate } from '../chat/candidates.ts';
import { createUpstreamGuards, retryDelay } from './upstream-guards.ts';

const settings = {
  retry: { initialDelayMs: 100, multiplier: 2, maxDelayMs: 1000, jitter: 'none' as const, maxRetryAfterMs: 5000, budgetRatio: 0.2, budgetMinPerSecond: 0 },
  circuitBreaker: { consecutiveFailures: 2, failureRatio: 0.5, windowMs: 10_000, minThroughput: 100, halfOpenAfterMs: 1000, halfOpenMaxProbes: 1 },
  bulkhead: { maxConcurrent: 1, maxQueue: 0 },
};

const candidate = (name: string, provider = 'sim'): Candidate =>
  ({ name, requested: name, upstreamModel: name, provider: { name: provider }, timeouts: {}, capabilities: {}, contextWindow: 1, retry: { maxAttempts: 3 } }) as unknown as Candidate;

const down = () => Promise.reject(new GatewayError({ code: 'upstream_unavailable', message: 'down' }));

describe('upstream guards', () => {
  it('one breaker per upstream model, opening after consecutive failures and reporting the transition', async () => {
    let now = 0;
    const transitions: string[] = [];
    const guards = createUpstreamGuards({ settings, events: { onBreakerTransition: (c, from, to) => transitions.push(`${c}:${from}->${to}`) }, now: () => now });
    const a = guards.guardFor(candidate('a'));
    expect(guards.guardFor(candidate('a'))).toBe(a);
    const signal = new AbortController().signal;
    for (let i = 0; i < 2; i++) await a.run(down, signal).catch(() => {});
    expect(a.available()).toBe(false);
    expect(guards.guardFor(candidate('b')).available()).toBe(true);
    expect(transitions).toEqual(['a:closed->open']);
    now += 1000;
    expect(a.available()).toBe(true);
    expect(guards.states()).toContainEqual({ candidate: 'a', state: 'half-open' });
  });

  it('routes onto the same upstream model share its breaker, and each is reported under its own name', async () => {
    let now = 0;
    const transitions: string[] = [];
    const guards = createUpstreamGuards({ settings, events: { onBreakerTransition: (c, from, to) => transitions.push(`${c}:${from}->${to}`) }, now: () => now });
    const onto = (name: string): Candidate => ({ ...candidate(name), upstreamModel: 'gpt-4o-mini' }) as Candidate;
    const team = guards.guardFor(onto('team-*'));
    expect(guards.guardFor(onto('gpt-4o-mini'))).toBe(team);
    const signal = new AbortController().signal;
    for (let i = 0; i < 2; i++) await team.run(down, signal).catch(() => {});
    expect(transitions).toEqual(['team-*:closed->open', 'gpt-4o-mini:closed->open']);
    expect(guards.states()).toEqual([
      { candidate: 'team-*', state: 'open' },
      { candidate: 'gpt-4o-mini', state: 'open' },
    ]);
    // A third route, added while the breaker is open, starts its gauge there.
    guards.guardFor(onto('team-b'));
    expect(transitions.at(-1)).toBe('team-b:closed->open');
    // Reading the states moves the breaker to half-open once its wait is over, for every name.
    now += 1000;
    guards.states();
    expect(transitions.slice(-3)).toEqual(['team-*:open->half-open', 'gpt-4o-mini:open->half-open', 'team-b:open->half-open']);
  });

  it('a stream opened under a lease counts once, when it ends: streams that break mid-answer open the breaker', async () => {
    const guards = createUpstreamGuards({ settings, events: { onBreakerTransition() {} } });
    const g = guards.guardFor(candidate('s'));
    const signal = new AbortController().signal;
    const error = new GatewayError({ code: 'upstream_error', kind: 'stream_truncated', message: 'cut' });
    for (let i = 0; i < 2; i++) {
      const { value, lease } = await g.open(async () => 'first token', signal);
      expect(value).toBe('first token');
      lease.fail(error);
      lease.succeed(); // settled already
    }
    expect(g.available()).toBe(false);
    // A stream the caller left decides nothing.
    const h = guards.guardFor(candidate('h'));
    for (let i = 0; i < 3; i++) (await h.open(async () => 'x', signal)).lease.release();
    expect(h.available()).toBe(true);
  });

  it("a stream's lease holds its bulkhead slot until it ends; a failed opening gives it back at once", async () => {
    const guards = createUpstreamGuards({ settings, events: { onBreakerTransition() {} } });
    const x = guards.guardFor(candidate('x', 'p'));
    const y = guards.guardFor(candidate('y', 'p'));
    const signal = new AbortController().signal;
    const { lease } = await x.open(async () => 'streaming', signal);
    const rejected = await y.run(async () => 'ran', signal).catch((e: unknown) => e);
    expect(isGatewayError(rejected) && rejected.code).toBe('bulkhead_rejected');
    // Turned away on our side: neither a success nor a failure of y's upstream.
    expect(y.available()).toBe(true);
    lease.succeed();
    expect(await y.run(async () => 'ran', signal)).toBe('ran');
    await expect(x.open(down, signal)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(await y.run(async () => 'ran again', signal)).toBe('ran again');
  });

  it('the bulkhead bounds concurrent calls per provider and rejects beyond its queue', async () => {
    const guards = createUpstreamGuards({ settings, events: { onBreakerTransition() {} } });
    const x = guards.guardFor(candidate('x', 'p'));
    const y = guards.guardFor(candidate('y', 'p'));
    const signal = new AbortController().signal;
    let release!: () => void;
    const slow = x.run(() => new Promise<void>((r) => (release = r)), signal);
    const rejected = await y.run(async () => 'ran', signal).catch((e: unknown) => e);
    expect(isGatewayError(rejected) && rejected.code).toBe('bulkhead_rejected');
    release();
    await slow;
    expect(await y.run(async () => 'ran', signal)).toBe('ran');
  });

  it('retry delays: Retry-After when given and under the cap, none above it, else exponential backoff', () => {
    const backoff = new ExponentialBackoff({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1000, jitter: 'none' });
    const plain = new GatewayError({ code: 'upstream_unavailable', message: 'x' });
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(backoff, 5000, n, plain))).toEqual([100, 200, 400, 800, 1000]);
    expect(retryDelay(backoff, 5000, 1, new GatewayError({ code: 'rate_limit_exceeded', message: 'x', retryAfterMs: 2500 }))).toBe(2500);
    expect(retryDelay(backoff, 5000, 1, new GatewayError({ code: 'rate_limit_exceeded', message: 'x', retryAfterMs: 60_000 }))).toBeUndefined();
  });
});
