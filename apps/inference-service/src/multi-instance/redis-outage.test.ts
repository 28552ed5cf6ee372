import { startSimulator, type Simulator } from '@llmgw/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, fastAgreement } from '../testing/stack.ts';
import { startInstance, until, type Instance } from './instances.ts';
import { startTestRedis, type TestRedis } from './redis-server.ts';

// Redis goes away and comes back: the service keeps answering by its policy,
// says so in a metric and a log line, and picks Redis up again by itself.
const LIMIT = 3;
const ALL_DOWN = { rules: [{ model: '*', kind: 'status', status: 503 }] };
const HEALTHY = { rules: [] };
const agreement = fastAgreement((a) => {
  a.rateLimits.requestsPerMinute = LIMIT;
});

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

async function instance(keyPrefix: string, storeFailure: 'open' | 'closed', logs?: string[]): Promise<Instance> {
  const i = await startInstance({ redisUrl: redis.url, simulatorUrl: sim.url, agreement, logs, config: { storeFailure }, redis: { keyPrefix } });
  instances.push(i);
  return i;
}

const readyz = async (i: Instance) => {
  const res = await fetch(`${i.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Array<{ name: string; status: string }> } };
};

describe('Redis unreachable', () => {
  it('fail open: requests are answered, the failure is counted and logged, and limits return with Redis', async () => {
    const logs: string[] = [];
    const svc = await instance('open', 'open', logs);
    sim.setScenario(HEALTHY);
    await redis.stop();

    // More requests than the limit, all answered: the limiter is skipped, not failing the requests.
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: LIMIT + 3 }, (_, i) => svc.chat(ask(`during the outage ${i}`)).then((r) => r.status)));
    expect(statuses).toEqual(Array(LIMIT + 3).fill(200));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await svc.storeErrors('rate_limit')).toBeGreaterThanOrEqual(LIMIT + 3);
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.store === 'rate_limit' && l.level === 'error');
    expect(line?.msg).toMatch(/shared store unavailable/);

    // The async step needs Redis: it is skipped and the chain ends politely instead.
    sim.setScenario(ALL_DOWN);
    const degraded = await svc.chat(ask('Summarise the quarterly report in three bullet points'));
    expect(degraded.status).toBe(200);
    expect(degraded.headers.get('x-llm-fallback')).toBe('polite');
    sim.setScenario(HEALTHY);

    // Fail-open deployments stay ready (the store check only warns).
    const notRequired = await readyz(svc);
    expect(notRequired.status).toBe(200);
    expect(notRequired.body.checks.find((c) => c.name === 'store:redis')?.status).toBe('warn');

    // Redis is back (empty: no persistence): within a few seconds the limit applies again.
    await redis.start();
    const back = Date.now();
    await until(() => svc.service.stores.healthy(), (ok) => ok, 5000);
    expect(Date.now() - back).toBeLessThan(5000);
    const after: number[] = [];
    for (let i = 0; i <= LIMIT; i++) after.push((await svc.chat(ask(`after the outage ${i}`))).status);
    expect(after).toEqual([...Array(LIMIT).fill(200), 429]);
    expect((await readyz(svc)).body.checks.find((c) => c.name === 'store:redis')?.status).toBe('pass');
  });

  it('the job worker survives the outage and resumes when Redis returns', async () => {
    const svc = await instance('worker', 'open');
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1500)); // long enough for the worker's connections to fail and retry
    await redis.start();
    await until(() => svc.service.stores.healthy(), (ok) => ok, 5000);
    sim.setScenario(ALL_DOWN);
    const res = await svc.chat(ask('Summarise the quarterly report in three bullet points'));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    sim.setScenario(HEALTHY);
    const job = await until(() => svc.job(id), (j) => j.body.status === 'succeeded', 10_000, 50);
    expect(job.body.status).toBe('succeeded');
    // The worker's lost connection was reported once, not once per reconnect attempt.
    expect(await svc.storeErrors('async_jobs')).toBe(1);
  });

  it('fail closed: 503 while Redis is down, not ready, and back to normal after', async () => {
    const svc = await instance('closed', 'closed');
    sim.setScenario(HEALTHY);
    expect((await svc.chat(ask('before'))).status).toBe(200);
    await redis.stop();

    const res = await svc.chat(ask('during the outage'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as any).error.code).toBe('upstream_unavailable');
    const down = await readyz(svc);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.find((c) => c.name === 'store:redis')?.status).toBe('fail');
    expect(await svc.storeErrors('rate_limit')).toBeGreaterThan(0);

    await redis.start();
    await until(() => svc.service.stores.healthy(), (ok) => ok, 5000);
    expect((await svc.chat(ask('after'))).status).toBe(200);
    expect((await readyz(svc)).status).toBe(200);
  });
});
