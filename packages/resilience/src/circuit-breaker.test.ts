import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, type CircuitState, type StateChangeEvent } from './circuit-breaker.ts';
import { GatewayError, isGatewayError } from './errors.ts';

const fail503 = () => GatewayError.fromStatus(503, { message: 'HTTP 503' });
const ok = async () => 'ok';
const boom = (error: unknown = fail503()) => async () => {
  throw error;
};

async function failTimes(breaker: CircuitBreaker, n: number, error?: () => unknown) {
  for (let i = 0; i < n; i++) await breaker.execute(boom(error?.())).catch(() => {});
}

function deferred<T = string>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('CircuitBreaker', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('opens after 5 consecutive upstream failures and then fails fast without calling fn', async () => {
    const breaker = new CircuitBreaker({ name: 'openai/gpt-4o-mini', failureRatio: false });
    const changes: StateChangeEvent[] = [];
    breaker.onStateChange((e) => changes.push(e));
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(changes).toMatchObject([{ from: 'closed', to: 'open' }]);

    const fn = vi.fn(ok);
    vi.advanceTimersByTime(15_000);
    const error = await breaker.execute(fn).catch((e) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(isGatewayError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'circuit_open', kind: 'circuit_open', status: 503, retryable: false, retryAfterMs: 45_000 });
    expect(error.message).toContain('openai/gpt-4o-mini');
    expect(breaker.canAttempt()).toBe(false);
    expect(breaker.msUntilHalfOpen()).toBe(45_000);
  });

  it('a success in between resets the consecutive count', async () => {
    const breaker = new CircuitBreaker({ failureRatio: false });
    await failTimes(breaker, 4);
    await breaker.execute(ok);
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
  });

  it('only upstream failures count: 400 and 429 do not open it (and prove health)', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 2, failureRatio: false });
    await failTimes(breaker, 1);
    await failTimes(breaker, 5, () => GatewayError.fromStatus(429, { message: 'slow' }));
    await failTimes(breaker, 5, () => GatewayError.fromStatus(400, { message: 'bad' }));
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1, () => new GatewayError({ code: 'upstream_timeout', message: 't', kind: 'timeout_total' }));
    expect(breaker.state).toBe('open');
  });

  it('caller aborts are ignored', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 2, failureRatio: false });
    await failTimes(breaker, 1);
    await failTimes(breaker, 3, () => new DOMException('gone', 'AbortError'));
    expect(breaker.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 1 });
  });

  it('opens on the failure ratio once the window has enough calls', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 0, failureRatio: 0.5, minThroughput: 10, windowMs: 30_000 });
    // alternate: never 2 failures in a row, ratio 50 %
    for (let i = 0; i < 4; i++) {
      await breaker.execute(ok);
      await failTimes(breaker, 1);
    }
    expect(breaker.state).toBe('closed'); // 8 calls < minThroughput
    await breaker.execute(ok);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('old failures slide out of the ratio window', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 0, failureRatio: 0.5, minThroughput: 4, windowMs: 10_000 });
    await failTimes(breaker, 3);
    vi.advanceTimersByTime(11_000);
    await breaker.execute(ok);
    await breaker.execute(ok);
    await breaker.execute(ok);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed'); // 1 of 4 in the window
  });

  it('half-opens after halfOpenAfterMs; a successful probe closes it', async () => {
    const breaker = new CircuitBreaker({ failureRatio: false });
    const states: CircuitState[] = [];
    breaker.onStateChange((e) => states.push(e.to));
    await failTimes(breaker, 5);
    vi.advanceTimersByTime(59_999);
    expect(breaker.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('a failed probe re-opens it for another full wait', async () => {
    const breaker = new CircuitBreaker({ failureRatio: false, halfOpenAfterMs: 1000 });
    await failTimes(breaker, 5);
    vi.advanceTimersByTime(1000);
    await failTimes(breaker, 1);
    expect(breaker.toJSON()).toEqual({ state: 'open', openedAt: 1_001_000, halfOpenAt: 1_002_000 });
  });

  it('allows at most halfOpenMaxProbes concurrent probes; others get circuit_open', async () => {
    const breaker = new CircuitBreaker({ failureRatio: false, halfOpenMaxProbes: 2, halfOpenAfterMs: 1000 });
    await failTimes(breaker, 5);
    vi.advanceTimersByTime(1000);
    const a = deferred();
    const b = deferred();
    const pa = breaker.execute(() => a.promise);
    const pb = breaker.execute(() => b.promise);
    expect(breaker.canAttempt()).toBe(false);
    const third = vi.fn(ok);
    await expect(breaker.execute(third)).rejects.toMatchObject({ code: 'circuit_open' });
    expect(third).not.toHaveBeenCalled();
    a.resolve('ok');
    await pa;
    expect(breaker.state).toBe('closed');
    // the second probe's later failure is stale news from the half-open episode
    b.reject(fail503());
    await pb.catch(() => {});
    expect(breaker.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 0 });
  });

  it('an aborted probe frees its slot without deciding', async () => {
    const breaker = new CircuitBreaker({ failureRatio: false, halfOpenAfterMs: 1000 });
    await failTimes(breaker, 5);
    vi.advanceTimersByTime(1000);
    await failTimes(breaker, 1, () => new DOMException('x', 'AbortError'));
    expect(breaker.state).toBe('half-open');
    expect(breaker.canAttempt()).toBe(true);
  });

  it('a call turned away before the upstream (full bulkhead, another breaker) decides nothing', async () => {
    const rejected = () => new GatewayError({ code: 'bulkhead_rejected', kind: 'bulkhead', status: 503, message: 'full' });
    const otherOpen = () => new GatewayError({ code: 'circuit_open', kind: 'circuit_open', status: 503, message: 'open' });
    // Closed: it neither resets nor adds to the run of failures.
    const closed = new CircuitBreaker({ consecutiveFailures: 3, failureRatio: false });
    await failTimes(closed, 2);
    await failTimes(closed, 1, rejected);
    await failTimes(closed, 1, otherOpen);
    expect(closed.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 2 });
    await failTimes(closed, 1);
    expect(closed.state).toBe('open');
    // Half-open: the probe slot is freed, and the breaker is not closed on its strength.
    const halfOpen = new CircuitBreaker({ failureRatio: false, halfOpenAfterMs: 1000, halfOpenMaxProbes: 1 });
    await failTimes(halfOpen, 5);
    vi.advanceTimersByTime(1000);
    await failTimes(halfOpen, 1, rejected);
    expect(halfOpen.state).toBe('half-open');
    expect(halfOpen.canAttempt()).toBe(true);
  });

  it('begin(): a permit settled later counts once, as its first verdict says', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 3, failureRatio: false, halfOpenAfterMs: 1000, halfOpenMaxProbes: 1 });
    // Streams that open and then break: each is one failure, so three in a row open it.
    for (let i = 0; i < 3; i++) {
      const permit = breaker.begin();
      permit.fail(fail503());
      permit.succeed(); // too late: settled already
    }
    expect(breaker.state).toBe('open');
    expect(() => breaker.begin()).toThrow(/Circuit open/);
    // Half-open: the probe's slot is held until its verdict; released without one, it decides nothing.
    vi.advanceTimersByTime(1000);
    const probe = breaker.begin();
    expect(breaker.canAttempt()).toBe(false);
    probe.release();
    expect(breaker.state).toBe('half-open');
    expect(breaker.canAttempt()).toBe(true);
    const second = breaker.begin();
    second.succeed();
    second.fail(fail503());
    expect(breaker.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 0 });
  });

  it('serialises and restores its state', async () => {
    const breaker = new CircuitBreaker({ failureRatio: false, halfOpenAfterMs: 60_000 });
    await failTimes(breaker, 5);
    const saved = JSON.parse(JSON.stringify(breaker));
    expect(saved).toEqual({ state: 'open', openedAt: 1_000_000, halfOpenAt: 1_060_000 });

    const twin = new CircuitBreaker({ initialState: saved });
    expect(twin.state).toBe('open');
    expect(twin.canAttempt()).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect(twin.state).toBe('half-open');

    const halfOpen = new CircuitBreaker({ initialState: { state: 'half-open', openedAt: 0 } });
    expect(halfOpen.canAttempt()).toBe(true);
    const closed = new CircuitBreaker({ initialState: { state: 'closed', consecutiveFailures: 4 }, failureRatio: false });
    await failTimes(closed, 1);
    expect(closed.state).toBe('open');
  });

  it('emits onFailure/onSuccess; listeners can be disposed', async () => {
    const breaker = new CircuitBreaker();
    const failures: unknown[] = [];
    let successes = 0;
    const sub = breaker.onFailure((e) => failures.push(e.error));
    breaker.onSuccess(() => successes++);
    const err = fail503();
    await breaker.execute(boom(err)).catch(() => {});
    await breaker.execute(ok);
    sub.dispose();
    await breaker.execute(boom()).catch(() => {});
    expect(failures).toEqual([err]);
    expect(successes).toBe(1);
  });

  it('passes the caller context to fn', async () => {
    const controller = new AbortController();
    const seen = await new CircuitBreaker().execute((ctx) => ctx.signal, controller.signal);
    expect(seen).toBe(controller.signal);
  });
});

// --- property: random traffic against a model of the rules -----------------

type Command =
  | { t: 'call'; outcome: 'ok' | 'fail' | 'hold' }
  | { t: 'settle'; index: number; outcome: 'ok' | 'fail' }
  | { t: 'advance'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ t: fc.constant('call' as const), outcome: fc.constantFrom('ok' as const, 'fail' as const, 'hold' as const) }),
  fc.record({ t: fc.constant('settle' as const), index: fc.nat(10), outcome: fc.constantFrom('ok' as const, 'fail' as const) }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2500 }) }),
);

describe('CircuitBreaker properties', () => {
  it('open never calls fn; never stays open past halfOpenAfter; at most N concurrent probes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(command, { maxLength: 80 }),
        async (threshold, maxProbes, commands) => {
          let now = 0;
          const halfOpenAfterMs = 1000;
          const breaker = new CircuitBreaker({
            consecutiveFailures: threshold,
            failureRatio: false,
            halfOpenAfterMs,
            halfOpenMaxProbes: maxProbes,
            now: () => now,
          });
          // Model fed by the breaker's own events.
          let current = 'closed' as CircuitState;
          let openedAt = -1;
          let episode = 0;
          let probesInFlight = 0;
          breaker.onStateChange((e) => {
            expect(e.from).toBe(current);
            current = e.to;
            episode++;
            probesInFlight = 0;
            if (e.to === 'open') openedAt = now;
          });
          const held: { settle: (o: 'ok' | 'fail') => void }[] = [];

          for (const cmd of commands) {
            if (cmd.t === 'advance') {
              now += cmd.ms;
              continue;
            }
            if (cmd.t === 'settle') {
              const h = held.splice(cmd.index % Math.max(1, held.length), 1)[0];
              h?.settle(cmd.outcome);
              await flush();
              continue;
            }
            const dueForProbe = current === 'open' && now >= openedAt + halfOpenAfterMs;
            const openAndWaiting = current === 'open' && !dueForProbe;
            const slotsFull = current === 'half-open' && probesInFlight >= maxProbes;
            let called = false;
            let calledIn: CircuitState | undefined;
            const run = breaker.execute(() => {
              called = true;
              calledIn = current;
              const isProbe = current === 'half-open';
              const myEpisode = episode;
              if (isProbe) {
                probesInFlight++;
                expect(probesInFlight).toBeLessThanOrEqual(maxProbes);
              }
              const end = () => {
                if (isProbe && episode === myEpisode) probesInFlight--;
              };
              if (cmd.outcome !== 'hold') {
                end();
                if (cmd.outcome === 'fail') throw fail503();
                return 'ok';
              }
              return new Promise<string>((resolve, reject) => {
                held.push({
                  settle: (o) => {
                    end();
                    if (o === 'ok') resolve('ok');
                    else reject(fail503());
                  },
                });
              });
            });
            run.catch(() => {});

            // 1. an open breaker never calls fn, and says circuit_open
            if (openAndWaiting || slotsFull) {
              expect(called).toBe(false);
              await expect(run).rejects.toMatchObject({ code: 'circuit_open' });
            }
            // 2. past halfOpenAfter, a call gets through as a probe
            if (dueForProbe) {
              expect(called).toBe(true);
              expect(calledIn).toBe('half-open');
            }
            if (current === 'closed' || (current === 'half-open' && !slotsFull)) expect(called).toBe(true);
            if (cmd.outcome !== 'hold') await flush();
          }
          for (const h of held) h.settle('ok');
        },
      ),
      { numRuns: 300 },
    );
  });
});

async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
