// The per-key token budget and runaway guard (the article's bot that multiplied
// its token use by 10 in 10 minutes): unit tests on createTokenBudget with a
// fake clock, then over HTTP with the service's injected clock, so a baseline
// hour and a spike are built without sleeping.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenBudget, type TokenBudgetOptions } from '../policies/token-budget.ts';
import { bucketSpans } from '../stores/bucket-spans.ts';
import { memoryTokenUsage } from '../stores/memory/token-usage.ts';
import type { TimeRange } from '../stores/types.ts';
import { memoryDefaults } from '../stores/index.ts';
import { OTHER_KEY, TEST_KEY, ask, fastAgreement, startStack, type Stack, type StackOptions } from '../testing/stack.ts';

const MINUTE = 60_000;
/** A bucket-aligned start time, far from the real clock so nothing real leaks in. */
const T0 = Date.UTC(2030, 0, 1);

const OPTIONS: TokenBudgetOptions = {
  tokensPerWindow: 1_000_000,
  windowMs: 60 * MINUTE,
  runaway: { factor: 10, recentWindowMs: 10 * MINUTE, baselineWindowMs: 60 * MINUTE, minTokens: 1000 },
};

function budgetAt(options: Partial<TokenBudgetOptions> = {}) {
  const clock = { now: T0 };
  const store = memoryTokenUsage();
  const budget = createTokenBudget(store, { ...OPTIONS, ...options, now: () => clock.now });
  return { clock, store, budget };
}

describe('createTokenBudget (unit, fake clock)', () => {
  it('a key with no baseline is held only by the budget, however fast it starts', async () => {
    const { clock, budget } = budgetAt();
    clock.now = T0 + 70 * MINUTE;
    await budget.record('k', 500_000);
    expect(await budget.check('k')).toEqual({ allowed: true });
  });

  it('runaway: more than factor x the baseline rate, scaled to the recent window; the boundary itself is allowed', async () => {
    const { clock, store, budget } = budgetAt();
    // Baseline hour [T0, T0+60m): 6000 tokens -> 1000 per 10 minutes -> limit 10 000 in the recent window.
    for (let m = 0; m < 60; m += 10) await store.add('k', 1000, T0 + m * MINUTE);
    clock.now = T0 + 70 * MINUTE;
    await store.add('k', 10_000, clock.now - 5 * MINUTE);
    expect(await budget.check('k')).toEqual({ allowed: true });
    await budget.record('k', 1);
    const verdict = await budget.check('k');
    expect(verdict).toMatchObject({ allowed: false, reason: 'runaway', retryAfterMs: 60_000 });
    expect((verdict as { message: string }).message).toMatch(/10x/);
    // Another key is untouched.
    expect(await budget.check('other')).toEqual({ allowed: true });
  });

  it('below minTokens in the recent window a key is never called runaway', async () => {
    const { clock, store, budget } = budgetAt({ runaway: { ...OPTIONS.runaway, minTokens: 5000 } });
    await store.add('k', 6, T0);
    clock.now = T0 + 70 * MINUTE;
    await budget.record('k', 4999);
    expect(await budget.check('k')).toEqual({ allowed: true });
    await budget.record('k', 1);
    expect(await budget.check('k')).toMatchObject({ allowed: false, reason: 'runaway' });
  });

  it('the recent window does not count as baseline: a spike right after a quiet hour is caught', async () => {
    const { clock, store, budget } = budgetAt();
    await store.add('k', 600, T0); // quiet baseline: 100 per 10 minutes
    clock.now = T0 + 70 * MINUTE;
    await budget.record('k', 1200);
    expect(await budget.check('k')).toMatchObject({ allowed: false, reason: 'runaway' });
    // Once the spike has become the baseline (it left the recent window), the key is allowed again.
    clock.now += 11 * MINUTE;
    expect(await budget.check('k')).toEqual({ allowed: true });
  });

  it('budget: exhausted at tokensPerWindow, Retry-After when the window has room again, free again then', async () => {
    const { clock, budget } = budgetAt({ tokensPerWindow: 100, windowMs: 5 * MINUTE });
    await budget.record('k', 99);
    expect(await budget.check('k')).toEqual({ allowed: true });
    await budget.record('k', 1);
    // The tokens sit in the minute bucket [T0, T0 + 1 min): in the window until T0 + 6 min.
    expect(await budget.check('k')).toMatchObject({ allowed: false, reason: 'budget', retryAfterMs: 6 * MINUTE });
    clock.now += 6 * MINUTE - 1;
    expect(await budget.check('k')).toMatchObject({ allowed: false, retryAfterMs: 5000 });
    clock.now += 1;
    expect(await budget.check('k')).toEqual({ allowed: true });
  });

  it('budget: a client that waits as told gets through on its first retry, however the use was spread', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 59 * MINUTE }), tokens: fc.integer({ min: 1, max: 400 }) }), { minLength: 1, maxLength: 30 }), async (uses) => {
        const { clock, store, budget } = budgetAt({ tokensPerWindow: 1000, windowMs: 60 * MINUTE });
        for (const u of uses) await store.add('k', u.tokens, T0 + u.atMs + 17);
        clock.now = T0 + 59 * MINUTE + 31_000;
        const first = await budget.check('k');
        if (first.allowed) return;
        clock.now += first.retryAfterMs;
        expect(await budget.check('k')).toEqual({ allowed: true });
        // Not more than one step (a minute) late.
        clock.now -= 60_000;
        expect((await budget.check('k')).allowed).toBe(false);
      }),
      { seed: 20261125, numRuns: 100 },
    );
  });

  it('the recent and the baseline windows never count the same bucket, whatever the clock', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 10 * MINUTE }), async (offset) => {
        const store = memoryTokenUsage();
        const read: Array<readonly TimeRange[]> = [];
        const spying = { ...store, sums: (key: string, ranges: readonly TimeRange[]) => (read.push(ranges), store.sums(key, ranges)) };
        const t = T0 + 70 * MINUTE + offset;
        await createTokenBudget(spying, { ...OPTIONS, bucketMs: MINUTE, now: () => t }).check('k');
        const [, recent, baseline] = read[0]!;
        // The store's buckets: a range counts each bucket from the one holding its start.
        const [recentFirst] = bucketSpans([recent!], MINUTE)[0]!;
        const [, baselineLast] = bucketSpans([baseline!], MINUTE)[0]!;
        expect(baselineLast).toBe(recentFirst - 1);
      }),
      { seed: 20261125, numRuns: 200 },
    );
  });

  it('property: the verdict is the documented formula over bucketed sums', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 50_000 }), async (baseline, recent) => {
        const { clock, store, budget } = budgetAt();
        await store.add('k', baseline, T0 + 30 * MINUTE);
        clock.now = T0 + 70 * MINUTE;
        await store.add('k', recent, clock.now - MINUTE);
        const runaway = recent >= OPTIONS.runaway.minTokens && baseline > 0 && recent > (10 * baseline) / 6;
        const verdict = await budget.check('k');
        expect(verdict.allowed).toBe(!runaway);
        if (!verdict.allowed) expect(verdict.reason).toBe('runaway');
      }),
      { numRuns: 200 },
    );
  });
});

describe('token budget over HTTP (injected service clock)', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });
  const clock = { now: T0 };
  const totalOf = async (res: Response) => ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;

  it('a runaway key is cut off (429 token_budget_exceeded, metric, log line) while another key keeps working', async () => {
    const logs: string[] = [];
    const minTokens = 300;
    stack = await startStack({
      logs,
      service: { now: () => clock.now },
      agreement: fastAgreement((a) => {
        a.rateLimits.requestsPerMinute = 10_000;
        a.tokenBudget.runaway.minTokens = minTokens;
      }),
    });
    const s = stack;
    const { factor, recentWindowMs, baselineWindowMs } = fastAgreement().tokenBudget.runaway;

    // A steady baseline hour: one request every 5 minutes.
    clock.now = T0;
    let baseline = 0;
    for (let m = 0; m < 60; m += 5) {
      clock.now = T0 + m * MINUTE;
      const res = await s.chat(ask(`steady question ${m}`));
      expect(res.status).toBe(200);
      baseline += await totalOf(res);
    }
    // Ten minutes later (the recent window is empty, the baseline window holds the hour), the bot goes wild.
    clock.now = T0 + 70 * MINUTE;
    const limit = (factor * baseline * recentWindowMs) / baselineWindowMs;
    let recent = 0;
    let allowed = 0;
    let rejected: Response | undefined;
    for (let i = 0; i < 200 && !rejected; i++) {
      const expectRunaway = recent >= minTokens && recent > limit;
      const res = await s.chat(ask(`spike question number ${i}, please answer at length`));
      if (res.status === 429) {
        expect(expectRunaway).toBe(true);
        rejected = res;
        break;
      }
      expect(res.status, `request ${i}: ${recent} recent tokens vs limit ${limit}`).toBe(200);
      expect(expectRunaway).toBe(false);
      recent += await totalOf(res);
      allowed++;
    }
    expect(rejected).toBeDefined();
    expect(allowed).toBeGreaterThan(1);
    const body = await rejected!.json();
    expect(body.error.code).toBe('token_budget_exceeded');
    expect(body.error.message).toMatch(/baseline/);
    expect(Number(rejected!.headers.get('retry-after'))).toBe(60);
    // The upstream is not called for a rejected request.
    const calls = s.sim.recorder.attempts().length;
    expect((await s.chat(ask('still wild'))).status).toBe(429);
    expect(s.sim.recorder.attempts()).toHaveLength(calls);

    // Another key, same moment: unaffected.
    expect((await s.chat(ask('other team question'), { key: OTHER_KEY })).status).toBe(200);

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_token_budget_rejections_total\{reason="runaway"\} 2/);
    expect(metrics).not.toMatch(/llm_token_budget_rejections_total\{reason="budget"\} [1-9]/);
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const rejections = lines.filter((l) => l.msg === 'request' && l.status === 429);
    expect(rejections.length).toBe(2);
    expect(rejections[0]).toMatchObject({ keyId: 'team-a', model: 'gpt-4o-mini' });
    // Never the key or the prompt in a log.
    expect(logs.join('\n')).not.toContain(TEST_KEY);
    expect(logs.join('\n')).not.toContain('spike question');

    // Once the spike has left the recent window, the key works again.
    clock.now += 11 * MINUTE;
    expect((await s.chat(ask('calm again'))).status).toBe(200);
  });

  it('a small budget is used up: 429 token_budget_exceeded with Retry-After, per key, until the window passes', async () => {
    const windowMs = 5 * MINUTE;
    stack = await startStack({
      service: { now: () => clock.now },
      agreement: fastAgreement((a) => {
        a.tokenBudget.tokensPerWindow = 150;
        a.tokenBudget.windowMs = windowMs;
      }),
    });
    const s = stack;
    clock.now = T0;
    let used = 0;
    let i = 0;
    for (; used < 150; i++) {
      const res = await s.chat(ask(`question ${i}`));
      expect(res.status).toBe(200);
      used += await totalOf(res);
    }
    expect(i).toBeGreaterThan(1);
    const res = await s.chat(ask('one more'));
    expect(res.status).toBe(429);
    // All of it was used at T0: room again once T0's bucket has left the window, not in a minute.
    const retryAfterMs = Number(res.headers.get('retry-after')) * 1000;
    expect(retryAfterMs).toBeGreaterThan(windowMs);
    expect(retryAfterMs).toBeLessThanOrEqual(windowMs + MINUTE);
    const body = await res.json();
    expect(body.error.code).toBe('token_budget_exceeded');
    expect(body.error.message).toMatch(/150 tokens per 300s/);
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/llm_token_budget_rejections_total\{reason="budget"\} 1/);
    expect((await s.chat(ask('other key'), { key: OTHER_KEY })).status).toBe(200);
    // Told the truth: a step (5 s, 1/60 of the window) before, still refused; at the time given, through.
    clock.now = T0 + retryAfterMs - 5000;
    expect((await s.chat(ask('too early'))).status).toBe(429);
    clock.now = T0 + retryAfterMs;
    expect((await s.chat(ask('new window'))).status).toBe(200);
  });

  it('streams the caller leaves before their finish are charged for what was delivered: the budget still runs out', async () => {
    stack = await startStack({
      service: { now: () => clock.now },
      // Slow tokens, so the caller leaves mid-answer.
      scenario: { rules: [{ model: '*', kind: 'latency', per_token_latency_ms: 5 }] },
      agreement: fastAgreement((a) => (a.tokenBudget.tokensPerWindow = 40)),
    });
    clock.now = T0;
    const statuses: number[] = [];
    for (let i = 0; i < 20 && !statuses.includes(429); i++) {
      const res = await stack.chat(ask(`question ${i}`, { stream: true }));
      statuses.push(res.status);
      if (res.status !== 200) break;
      const reader = res.body!.getReader();
      let text = '';
      while (!/"content":"[^"]+"/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
    }
    expect(statuses.at(-1)).toBe(429);
  });

  it('a budget rejection still carries the rate-limit headers', async () => {
    stack = await startStack({
      service: { now: () => clock.now },
      agreement: fastAgreement((a) => (a.tokenBudget.tokensPerWindow = 1)),
    });
    clock.now = T0;
    expect((await stack.chat(ask('first'))).status).toBe(200);
    const res = await stack.chat(ask('second'));
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
  });
});

describe('tokens that did not become the answer are charged too', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  const schema = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } }, additionalProperties: false };
  const structured = (content: string) => ask(content, { response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true, schema } } });
  /** The stack's token usage store, read as the budget reads it. */
  async function withUsage(options: Omit<StackOptions, 'service'>) {
    const agreement = options.agreement ?? fastAgreement();
    const { stores, jobs } = memoryDefaults(agreement);
    stack = await startStack({ ...options, agreement, service: { stores, jobs } });
    const used = async (keyId = 'team-a') => stores.tokenUsage.sum(keyId, Date.now() - 3_600_000, Date.now() + 1);
    return { s: stack, used };
  }
  const settled = () => new Promise((r) => setTimeout(r, 20));

  it('a repaired structured answer: the invalid first output and the repair', async () => {
    const { s, used } = await withUsage({ scenario: { rules: [{ model: '*', kind: 'schema_violation', attempts: { first: 1 } }] } });
    const res = await s.chat(structured('Give me an answer'));
    expect(res.status).toBe(200);
    const answerTokens = ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    await settled();
    expect(s.sim.recorder.attempts()).toHaveLength(2);
    // More than the answer's own usage: the first, invalid, output was paid for too.
    expect(await used()).toBeGreaterThan(answerTokens + 5);
  });

  it('a structured request that fails every repair, with degraded answers refused: what the attempts used', async () => {
    const { s, used } = await withUsage({ scenario: { rules: [{ model: '*', kind: 'schema_violation' }] } });
    const res = await s.chat(structured('Give me an answer'), { headers: { 'x-llm-no-degraded': 'true' } });
    expect(res.status).toBe(502);
    await settled();
    expect(s.sim.recorder.attempts().length).toBeGreaterThan(1);
    expect(await used()).toBeGreaterThan(0);
  });

  it('an async job: its tokens are charged to the key that made it when it runs', async () => {
    const { s, used } = await withUsage({
      scenario: { rules: [{ model: '*', kind: 'outage' }] },
      agreement: fastAgreement((a) => (a.fallback.async.maxAttempts = 9)),
    });
    const res = await s.chat(ask('Can you summarise my last three orders?'));
    expect(res.status).toBe(202);
    const { location } = (await res.json()) as { location: string };
    expect(await used()).toBe(0);
    s.sim.setScenario({ rules: [] });
    let job: { status: string; result?: { usage: { total_tokens: number } } } = { status: 'queued' };
    for (const deadline = Date.now() + 8000; job.status !== 'succeeded' && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
      job = await (await fetch(`${s.url}${location}`, { headers: { authorization: `Bearer ${TEST_KEY}` } })).json();
    }
    expect(job.status).toBe('succeeded');
    await settled();
    expect(await used()).toBe(job.result!.usage.total_tokens);
    expect(await used('team-b')).toBe(0);
  }, 15_000);
});
