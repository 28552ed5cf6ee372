import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestRedis, type TestRedis } from '../../multi-instance/redis-server.ts';
import { bullJobQueue } from './job-queue.ts';
import { redisStores, requestPathClient, workerClient } from './index.ts';
import { redisRateLimiter } from './rate-limiter.ts';
import { redisResponseCache } from './response-cache.ts';
import { redisTokenUsage } from './token-usage.ts';
import { closeClient } from './client.ts';
import { JobQueueFullError, type JobQueue } from '../types.ts';

const JOB_ID = /^job_[A-Za-z0-9_-]{1,64}$/;
let redis: TestRedis;
const clients: Redis[] = [];
const queues: JobQueue[] = [];
/** A fresh request-path client, like one more instance of the service. */
const client = () => {
  const c = requestPathClient(redis.url);
  clients.push(c);
  return c;
};
const ready = async (c: Redis) => {
  if (c.status !== 'ready') await new Promise((r) => c.once('ready', r));
  return c;
};

beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  for (const q of queues) await q.close();
  for (const c of clients) await closeClient(c);
  await redis?.close();
});

describe('redisRateLimiter', () => {
  it('never admits more than the limit under concurrent consumers on separate connections', async () => {
    const [a, b] = await Promise.all([ready(client()), ready(client())]);
    const opts = { points: 20, durationSeconds: 60, keyPrefix: 't:rl:conc' };
    const limiters = [redisRateLimiter(a, opts), redisRateLimiter(b, opts)];
    const decisions = await Promise.all(Array.from({ length: 60 }, (_, i) => limiters[i % 2]!.consume('key-1', 1)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
    const denied = decisions.find((d) => !d.allowed)!;
    expect(denied).toMatchObject({ limit: 20, remaining: 0 });
    expect(denied.resetMs).toBeGreaterThan(55_000);
    expect(denied.resetMs).toBeLessThanOrEqual(60_000);
    // Another key has its own window.
    expect((await limiters[1]!.consume('key-2', 1)).remaining).toBe(19);
  });

  it('gives a refused take back, so an oversized request does not use up the window', async () => {
    const limiter = redisRateLimiter(await ready(client()), { points: 20, durationSeconds: 60, keyPrefix: 't:rl:refund' });
    expect(await limiter.consume('k', 15)).toMatchObject({ allowed: true, remaining: 5 });
    expect(await limiter.consume('k', 10)).toMatchObject({ allowed: false, remaining: 5 });
    expect(await limiter.consume('k', 5)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('peeks without consuming and takes penalties after the fact', async () => {
    const limiter = redisRateLimiter(await ready(client()), { points: 100, durationSeconds: 60, keyPrefix: 't:rl:pen' });
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 100 });
    await limiter.consume('k', 30);
    await limiter.penalize('k', 50);
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 20 });
    await limiter.penalize('k', 40);
    expect(await limiter.peek('k')).toMatchObject({ allowed: false, remaining: 0 });
    expect((await limiter.consume('k', 1)).allowed).toBe(false);
  });
});

describe('redisTokenUsage', () => {
  it('sums per-minute buckets over a range, seen alike from every connection', async () => {
    const [a, b] = await Promise.all([ready(client()), ready(client())]);
    const usageA = redisTokenUsage(a, { keyPrefix: 't:tok:' });
    const usageB = redisTokenUsage(b, { keyPrefix: 't:tok:' });
    const t0 = Date.UTC(2030, 0, 1, 12, 0, 0);
    await Promise.all([usageA.add('k', 100, t0), usageB.add('k', 50, t0 + 10_000), usageA.add('k', 7, t0 + 60_000), usageB.add('other', 999, t0)]);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? usageA : usageB).add('k', 1, t0 + 5 * 60_000)));
    expect(await usageB.sum('k', t0, t0 + 60_000)).toBe(150);
    expect(await usageA.sum('k', t0, t0 + 120_000)).toBe(157);
    expect(await usageA.sum('k', t0 - 3_600_000, t0 + 3_600_000)).toBe(177);
    expect(await usageA.sum('k', t0 + 60_000, t0 + 60_001)).toBe(7);
    expect(await usageA.sum('nobody', t0, t0 + 60_000)).toBe(0);
    // Every bucket carries its expiry (retention 2 h + one bucket).
    const ttl = await a.pttl(`t:tok:k:${Math.floor(t0 / 60_000)}`);
    expect(ttl).toBeGreaterThan(2 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(2 * 3_600_000 + 60_000);
  });

  it('sums several ranges with one MGET, each as sum would', async () => {
    const redis = await ready(client());
    const usage = redisTokenUsage(redis, { keyPrefix: 't:tok3:' });
    const t0 = Date.UTC(2030, 0, 1, 12, 0, 0);
    for (const [t, n] of [[0, 10], [60_000, 5], [10 * 60_000, 3], [65 * 60_000, 1]] as const) await usage.add('k', n, t0 + t);
    // The budget check's three windows, an hour and ten minutes after t0.
    const now = t0 + 70 * 60_000;
    const ranges = [[now - 3_600_000, now + 1], [now - 600_000, now + 1], [now - 4_200_000, now - 600_000], [now + 60_000, now + 120_000]] as const;
    const one = await Promise.all(ranges.map(([f, t]) => usage.sum('k', f, t)));
    expect(one).toEqual([4, 1, 18, 0]);
    const mget = vi.spyOn(redis, 'mget');
    expect(await usage.sums('k', ranges)).toEqual(one);
    expect(mget).toHaveBeenCalledTimes(1);
    expect(await usage.sums('nobody', ranges)).toEqual([0, 0, 0, 0]);
  });

  it('ignores buckets older than the retention', async () => {
    const usage = redisTokenUsage(await ready(client()), { keyPrefix: 't:tok2:', bucketMs: 1000, retentionMs: 5000 });
    const t0 = 1_000_000;
    await usage.add('k', 10, t0);
    await usage.add('k', 1, t0 + 9000);
    expect(await usage.sum('k', 0, t0 + 10_000)).toBe(1);
  });
});

describe('redisResponseCache', () => {
  it('stores JSON answers with a TTL and misses once it has passed', async () => {
    const c = await ready(client());
    const cache = redisResponseCache(c, 't:cache:');
    const answer = { content: 'Call 1900 1234', model: 'gpt-4o-mini', finishReason: 'stop' as const, storedAt: 1 };
    await cache.set('faq:price', answer, 60_000);
    await cache.set('faq:short', answer, 80);
    expect(await redisResponseCache(await ready(client()), 't:cache:').get('faq:price')).toEqual(answer);
    expect(await c.pttl('t:cache:faq:price')).toBeGreaterThan(59_000);
    expect(await cache.get('faq:short')).toEqual(answer);
    await new Promise((r) => setTimeout(r, 150)); // Redis' clock, not ours: a short real wait.
    expect(await cache.get('faq:short')).toBeUndefined();
    expect(await cache.get('faq:none')).toBeUndefined();
    await c.set('t:cache:bad', '{not json');
    expect(await cache.get('bad')).toBeUndefined();
  });
});

describe('bullJobQueue', () => {
  const queueClients: Array<ReturnType<typeof client>> = [];
  /** Waits until every queue client is connected (a loaded machine may take a while). */
  const queuesReady = async () => {
    const deadline = Date.now() + 10_000;
    while (queueClients.some((c) => c.status !== 'ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };
  const queue = <P, R>(prefix: string, extra: Partial<Parameters<typeof bullJobQueue>[0]> = {}) => {
    const queueClient = client();
    queueClients.push(queueClient);
    const q = bullJobQueue<P, R>({
      client: queueClient,
      workerConnection: () => {
        const c = workerClient(redis.url);
        clients.push(c);
        return c;
      },
      prefix,
      maxAttempts: 3,
      backoffMs: 10,
      resultTtlMs: 60_000,
      onError: () => undefined,
      ...extra,
    });
    queues.push(q as JobQueue);
    return q;
  };
  const until = async <T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (ok(v) || Date.now() > deadline) return v;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('runs a job enqueued elsewhere, retries a failed attempt, and shows the result to every reader', async () => {
    const producer = queue<{ n: number }, { doubled: number }>('t:jobs1');
    const consumer = queue<{ n: number }, { doubled: number }>('t:jobs1');
    await queuesReady();
    const seen: number[] = [];
    const job = await producer.enqueue({ n: 21 });
    expect(job.id).toMatch(JOB_ID);
    expect(job).toMatchObject({ state: 'queued', attempts: 0, payload: { n: 21 }, result: null });
    expect((await consumer.get(job.id))?.state).toBe('queued');
    consumer.startWorker(async (payload, attempt) => {
      seen.push(attempt);
      if (attempt === 1) throw Object.assign(new Error('upstream down'), { code: 'upstream_unavailable' });
      return { doubled: payload.n * 2 };
    });
    const done = await until(() => producer.get(job.id), (j) => j?.state === 'succeeded');
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { doubled: 42 }, error: null });
    expect(seen).toEqual([1, 2]);
    expect(done!.updatedAt).toBeGreaterThanOrEqual(done!.createdAt);
    expect(await producer.counts()).toEqual({ queued: 0, running: 0, succeeded: 1, failed: 0 });
    expect(await producer.get('job_unknown')).toBeUndefined();
  });

  it('fails a job after maxAttempts, keeping the error code', async () => {
    const q = queue<{ n: number }, never>('t:jobs2');
    q.startWorker(async () => {
      throw Object.assign(new Error('The model is no longer served.'), { code: 'model_not_found' });
    });
    const job = await until(() => q.enqueue({ n: 1 }).catch(() => undefined), (j) => j !== undefined);
    const failed = await until(() => q.get(job!.id), (j) => j?.state === 'failed');
    expect(failed).toMatchObject({ state: 'failed', attempts: 3, result: null, error: { code: 'model_not_found', message: 'The model is no longer served.' } });
    expect((await q.counts()).failed).toBe(1);
  });

  it('refuses a job past maxJobs unfinished ones, as the in-memory queue does, and takes one again when there is room', async () => {
    const q = queue<{ n: number }, number>('t:jobs4', { maxJobs: 3 });
    await queuesReady();
    for (let n = 0; n < 3; n++) await q.enqueue({ n });
    await expect(q.enqueue({ n: 3 })).rejects.toBeInstanceOf(JobQueueFullError);
    expect((await q.counts()).queued).toBe(3);
    q.startWorker(async (p) => p.n);
    await until(() => q.counts(), (c) => c.succeeded === 3);
    expect((await q.enqueue({ n: 4 })).state).toBe('queued');
  });

  it('shows a running job as running', async () => {
    const q = queue<{ n: number }, number>('t:jobs3');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    q.startWorker(async (p) => {
      await gate;
      return p.n;
    });
    const job = await until(() => q.enqueue({ n: 5 }).catch(() => undefined), (j) => j !== undefined);
    expect((await until(() => q.get(job!.id), (j) => j?.state === 'running'))?.state).toBe('running');
    expect((await q.counts()).running).toBe(1);
    release();
    expect((await until(() => q.get(job!.id), (j) => j?.state === 'succeeded'))?.result).toBe(5);
  });
});

describe('redisStores against a dead Redis', () => {
  it('fails fast, reports not healthy, and recovers by itself when Redis returns', async () => {
    const own = await startTestRedis();
    const changes: string[] = [];
    const { stores, jobs } = redisStores({
      url: own.url,
      requestsPerMinute: 2,
      tokensPerMinute: 1000,
      jobs: { maxAttempts: 1, backoffMs: 10, resultTtlMs: 1000 },
      client: { maxReconnectDelayMs: 100 },
      reportStoreError: () => undefined,
      onConnectionChange: (state) => changes.push(state),
    });
    try {
      await expect.poll(() => stores.healthy()).toBe(true);
      expect((await stores.requestLimiter.consume('k', 1)).allowed).toBe(true);
      await own.stop();
      const t = Date.now();
      await expect(stores.requestLimiter.consume('k', 1)).rejects.toThrow();
      await expect(stores.cache.get('x')).rejects.toThrow();
      await expect(stores.tokenUsage.sum('k', 0, 1)).rejects.toThrow();
      await expect(jobs.enqueue({})).rejects.toThrow();
      expect(await stores.healthy()).toBe(false);
      expect(Date.now() - t).toBeLessThan(1500);
      await own.start();
      await expect.poll(() => stores.healthy(), { timeout: 5000 }).toBe(true);
      // A fresh Redis (no persistence): the window starts again.
      expect((await stores.requestLimiter.consume('k', 1)).remaining).toBe(1);
      expect(changes).toEqual(['down', 'up']);
    } finally {
      await jobs.close();
      await stores.close();
      await own.close();
    }
  });
});
