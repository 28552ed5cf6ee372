import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobQueueFullError } from '../types.ts';
import { memoryJobQueue } from './job-queue.ts';
import { memoryResponseCache } from './response-cache.ts';
import { memoryTokenUsage } from './token-usage.ts';

afterEach(() => vi.useRealTimers());

describe('memory token usage', () => {
  it('sums tokens per key over time windows and forgets old buckets', async () => {
    const usage = memoryTokenUsage({ bucketMs: 1000, retentionMs: 5000 });
    await usage.add('k', 10, 0);
    await usage.add('k', 5, 1500);
    await usage.add('other', 99, 1500);
    expect(await usage.sum('k', 0, 2000)).toBe(15);
    expect(await usage.sum('k', 1000, 2000)).toBe(5);
    await usage.add('k', 1, 10_000);
    expect(await usage.sum('k', 0, 11_000)).toBe(1);
  });

  it('sums several ranges at once, each as sum would', async () => {
    const usage = memoryTokenUsage({ bucketMs: 1000, retentionMs: 60_000 });
    for (const [t, n] of [[0, 10], [1500, 5], [2500, 3], [7000, 1]] as const) await usage.add('k', n, t);
    const ranges = [[0, 8000], [1000, 3000], [2000, 2001], [3000, 7000], [9000, 9500]] as const;
    const one = await Promise.all(ranges.map(([f, t]) => usage.sum('k', f, t)));
    expect(one).toEqual([19, 8, 3, 0, 0]);
    expect(await usage.sums('k', ranges)).toEqual(one);
    expect(await usage.sums('nobody', ranges)).toEqual([0, 0, 0, 0, 0]);
    expect(await usage.sums('k', [])).toEqual([]);
  });
});

describe('memory response cache', () => {
  it('expires entries after their TTL', async () => {
    vi.useFakeTimers();
    const cache = memoryResponseCache(10, () => Date.now());
    await cache.set('a', { content: 'x', model: 'm', finishReason: 'stop', storedAt: 0 }, 1000);
    expect((await cache.get('a'))?.content).toBe('x');
    vi.advanceTimersByTime(1001);
    expect(await cache.get('a')).toBeUndefined();
  });
});

describe('memory job queue', () => {
  it('does not retry a failure that says it will repeat', async () => {
    vi.useFakeTimers();
    const queue = memoryJobQueue<string, string>({ maxAttempts: 5, backoffMs: 10 });
    let calls = 0;
    queue.startWorker(async () => {
      calls++;
      throw Object.assign(new Error('bad output'), { code: 'invalid_model_output', retryable: false });
    });
    const job = await queue.enqueue('x');
    await vi.advanceTimersByTimeAsync(200);
    expect((await queue.get(job.id))?.state).toBe('failed');
    expect(calls).toBe(1);
    await queue.close();
  });

  it('runs a job, retries failures with doubling backoff, keeps the result', async () => {
    vi.useFakeTimers();
    const queue = memoryJobQueue<string, string>({ maxAttempts: 3, backoffMs: 100 });
    const calls: number[] = [];
    queue.startWorker(async (payload, attempt) => {
      calls.push(Date.now());
      if (attempt < 3) throw Object.assign(new Error('upstream down'), { code: 'upstream_unavailable' });
      return payload.toUpperCase();
    });
    const job = await queue.enqueue('hello');
    expect(job.id).toMatch(/^job_[A-Za-z0-9_-]{1,64}$/);
    await vi.advanceTimersByTimeAsync(0);
    expect((await queue.get(job.id))?.state).toBe('queued');
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(200);
    const done = await queue.get(job.id);
    expect(done?.state).toBe('succeeded');
    expect(done?.result).toBe('HELLO');
    expect(done?.attempts).toBe(3);
    expect(calls[1]! - calls[0]!).toBe(100);
    expect(calls[2]! - calls[1]!).toBe(200);
    await queue.close();
  });

  it('holds at most maxJobs: refuses when all are unfinished, drops the oldest finished one for a new job', async () => {
    vi.useFakeTimers();
    const queue = memoryJobQueue<string, string>({ maxJobs: 2 });
    const a = await queue.enqueue('a');
    const b = await queue.enqueue('b');
    await expect(queue.enqueue('c')).rejects.toBeInstanceOf(JobQueueFullError);
    expect(await queue.counts()).toEqual({ queued: 2, running: 0, succeeded: 0, failed: 0 });
    queue.startWorker(async (payload) => payload.toUpperCase());
    await vi.advanceTimersByTimeAsync(0);
    const c = await queue.enqueue('c');
    expect(await queue.get(a.id)).toBeUndefined();
    expect((await queue.get(b.id))?.result).toBe('B');
    expect((await queue.get(c.id))?.payload).toBe('c');
    await queue.close();
  });

  it('marks a job failed after its attempts, with the last error', async () => {
    vi.useFakeTimers();
    const queue = memoryJobQueue<string, string>({ maxAttempts: 2, backoffMs: 10 });
    queue.startWorker(async () => {
      throw Object.assign(new Error('still down'), { code: 'upstream_unavailable' });
    });
    const job = await queue.enqueue('x');
    await vi.advanceTimersByTimeAsync(50);
    const failed = await queue.get(job.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.error).toEqual({ code: 'upstream_unavailable', message: 'still down' });
    expect(await queue.counts()).toEqual({ queued: 0, running: 0, succeeded: 0, failed: 1 });
    await queue.close();
  });
});
