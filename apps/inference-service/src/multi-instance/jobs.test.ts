import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator, type Simulator } from '@llmgw/simulator';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME } from '../stores/redis/job-queue.ts';
import { ask, fastAgreement } from '../testing/stack.ts';
import { slowAgreement, WORKER_TIMING } from './job-timing.ts';
import { startInstance, until, type Instance } from './instances.ts';
import { startTestRedis, type TestRedis } from './redis-server.ts';

// Async jobs are durable and shared: accepted by one instance, run by a worker
// in another, readable everywhere, and not lost when a worker dies mid-job.
const NODE = fileURLToPath(new URL('../../../../node_modules/.bin/node', import.meta.url));
const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
/** Every upstream call fails: gpt-4o-mini's chain runs out of models and reaches `async`. */
const ALL_DOWN = { rules: [{ model: '*', kind: 'status', status: 503 }] };
const HEALTHY = { rules: [] };
const QUESTION = 'Summarise the quarterly report in three bullet points'; // matches no rule-based answer

let redis: TestRedis;
let sim: Simulator;
const instances: Instance[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  [redis, sim] = await Promise.all([startTestRedis(), startSimulator({ port: 0 })]);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(instances.map((i) => i.stop()));
  await sim?.close();
  await redis?.close();
});

async function instance(keyPrefix: string, runWorker: boolean, agreement = fastAgreement()): Promise<Instance> {
  const i = await startInstance({ redisUrl: redis.url, simulatorUrl: sim.url, agreement, config: { runWorker }, redis: { keyPrefix, jobs: WORKER_TIMING } });
  instances.push(i);
  return i;
}

/** Sends a request that every model fails, so the chain ends in an async job; returns its id. */
async function acceptedJob(via: Instance): Promise<string> {
  sim.setScenario(ALL_DOWN);
  const res = await via.chat(ask(QUESTION));
  expect(res.status).toBe(202);
  expect(res.headers.get('x-llm-fallback')).toBe('async');
  const body = (await res.json()) as { id: string; status: string; location: string };
  expect(body.id).toMatch(/^job_[A-Za-z0-9_-]{1,64}$/);
  expect(res.headers.get('location')).toBe(`/v1/jobs/${body.id}`);
  return body.id;
}

describe('durable async jobs across instances', () => {
  it('a job accepted by A (no worker) is completed by B and readable from both', async () => {
    const a = await instance('jobs-ab', false);
    const id = await acceptedJob(a);
    sim.setScenario(HEALTHY);
    await new Promise((r) => setTimeout(r, 300));
    expect((await a.job(id)).body).toMatchObject({ id, status: 'queued', result: null });

    const b = await instance('jobs-ab', true);
    const fromB = await until(() => b.job(id), (j) => j.body.status === 'succeeded');
    expect(fromB).toMatchObject({ status: 200, body: { id, object: 'chat.completion.job', status: 'succeeded', error: null } });
    expect(fromB.body.result).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ message: { role: 'assistant' } }] });
    expect((await a.job(id)).body).toEqual(fromB.body);
    expect(sim.recorder.attempts().filter((r) => r.outcome === 'ok')).toHaveLength(1);
    expect((await a.job('job_doesnotexist')).status).toBe(404);
  });

  it('a worker killed mid-job loses nothing: another worker takes the job back and completes it once', async () => {
    const prefix = 'jobs-kill';
    const api = await instance(prefix, false);
    const id = await acceptedJob(api);
    // The next upstream call hangs for a long time: the job is mid-flight when its worker dies.
    sim.setScenario({ rules: [{ model: '*', kind: 'latency', ms: 20_000 }] });
    sim.recorder.clear();

    const events = new QueueEvents(QUEUE_NAME, { connection: { url: redis.url }, prefix } as never);
    events.on('error', () => undefined);
    const completions: string[] = [];
    events.on('completed', ({ jobId }) => completions.push(jobId));
    await events.waitUntilReady();

    const child = spawn(NODE, ['--conditions=source', WORKER_SCRIPT], {
      env: { ...process.env, REDIS_URL: redis.url, SIMULATOR_URL: sim.url, KEY_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    // The doomed worker has picked the job and its upstream call is hanging.
    await until(async () => (await api.job(id)).body.status, (s) => s === 'running', 10_000);
    await until(async () => sim.recorder.attempts().length, (n) => n > 0);
    expect(sim.recorder.attempts()[0]!.latencyMs).toBe(20_000);
    const died = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await died;

    sim.setScenario(HEALTHY);
    const rescuer = await instance(prefix, true, slowAgreement());
    const done = await until(() => rescuer.job(id), (j) => j.body.status === 'succeeded', 10_000);
    expect(done.body).toMatchObject({ id, status: 'succeeded', error: null });
    expect(done.body.result.choices[0].message.content.length).toBeGreaterThan(0);
    expect((await api.job(id)).body.status).toBe('succeeded');
    // Exactly once: one completion event and one successful upstream answer, even after more stalled checks.
    await new Promise((r) => setTimeout(r, 2 * WORKER_TIMING.stalledIntervalMs + 100));
    expect(completions.filter((j) => j === id)).toHaveLength(1);
    expect(sim.recorder.attempts().filter((r) => r.outcome === 'ok')).toHaveLength(1);
    await events.close();
  });
});
