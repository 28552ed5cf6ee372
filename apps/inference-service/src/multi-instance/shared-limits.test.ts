import { startSimulator, type Simulator } from '@llmgw/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, fastAgreement } from '../testing/stack.ts';
import { startInstance, type Instance } from './instances.ts';
import { startTestRedis, type TestRedis } from './redis-server.ts';

// Two instances on different ports, one Redis: the limits are the key's, not the instance's.
const LIMIT = 5;
let redis: TestRedis;
let sim: Simulator;
const instances: Instance[] = [];

beforeAll(async () => {
  [redis, sim] = await Promise.all([startTestRedis(), startSimulator({ port: 0 })]);
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await sim?.close();
  await redis?.close();
});

async function pair(edit: Parameters<typeof fastAgreement>[0], keyPrefix: string): Promise<[Instance, Instance]> {
  const agreement = fastAgreement(edit);
  const started = await Promise.all([0, 1].map(() => startInstance({ redisUrl: redis.url, simulatorUrl: sim.url, agreement, redis: { keyPrefix } })));
  instances.push(...started);
  return started as [Instance, Instance];
}

describe('limits shared through Redis', () => {
  it('a request rate limit holds across both instances under concurrent load', async () => {
    const [a, b] = await pair((x) => {
      x.rateLimits.requestsPerMinute = LIMIT;
    }, 'rl');
    expect(a.url).not.toBe(b.url);
    const responses = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).chat(ask(`hello ${i}`))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(16 - LIMIT);
    const rejected = responses.find((r) => r.status === 429)!;
    expect(rejected.headers.get('x-ratelimit-limit-requests')).toBe(String(LIMIT));
    expect(rejected.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(((await rejected.json()) as any).error.code).toBe('rate_limit_exceeded');
    // Both instances served some of the admitted ones or refused some: neither had its own budget of LIMIT.
    const admittedPerInstance = [0, 1].map((p) => statuses.filter((s, i) => i % 2 === p && s === 200).length);
    expect(admittedPerInstance[0]! + admittedPerInstance[1]!).toBe(LIMIT);
  });

  it('a token budget spent through instance A is refused by instance B', async () => {
    const [a, b] = await pair((x) => {
      x.tokenBudget.tokensPerWindow = 20;
    }, 'budget');
    const first = await a.chat(ask('Tell me something long enough to use a few tokens'));
    expect(first.status).toBe(200);
    const used = ((await first.json()) as any).usage.total_tokens as number;
    expect(used).toBeGreaterThanOrEqual(20);
    // The answer is sent before its tokens are booked: wait until B can see them.
    const tokenUsage = b.service.stores.tokenUsage;
    await expect.poll(() => tokenUsage.sum('team-a', Date.now() - 60_000, Date.now() + 1)).toBe(used);
    const refused = await b.chat(ask('one more'));
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as any).error.code).toBe('token_budget_exceeded');
    expect((await a.chat(ask('and from A'))).status).toBe(429);
  });
});
