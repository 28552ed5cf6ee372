import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_JOBS, JobQueueFullError, type JobProcessor, type JobQueue, type JobRecord, type JobState } from '../types.ts';

export interface MemoryJobQueueOptions {
  /** Attempts per job before it is marked failed. Default 5. */
  maxAttempts?: number;
  /** First retry delay in ms, doubled each attempt. Default 2000. */
  backoffMs?: number;
  /** How long finished jobs stay readable, in ms. Default 24 h. */
  resultTtlMs?: number;
  /** Jobs run at once. Default 4. */
  concurrency?: number;
  /**
   * Most jobs kept. When full, the oldest finished job is dropped; when every job is
   * still queued or running, `enqueue` rejects with JobQueueFullError. Default 10 000.
   */
  maxJobs?: number;
}

/**
 * One-instance job queue: jobs live in this process and are lost with it.
 * With REDIS_URL set the service uses the durable BullMQ queue instead.
 */
export function memoryJobQueue<P, R>(options: MemoryJobQueueOptions = {}): JobQueue<P, R> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? 2000;
  const resultTtlMs = options.resultTtlMs ?? 24 * 60 * 60_000;
  const concurrency = options.concurrency ?? 4;
  const maxJobs = options.maxJobs ?? DEFAULT_MAX_JOBS;
  const jobs = new Map<string, JobRecord<P, R>>();
  /** Ids of finished jobs, oldest first: what a full queue drops (no scan over unfinished ones). */
  const finished = new Set<string>();
  const ready: string[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let processor: JobProcessor<P, R> | undefined;
  let running = 0;
  let closed = false;

  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    timers.add(t);
  };

  const pump = () => {
    while (processor && !closed && running < concurrency && ready.length > 0) {
      const job = jobs.get(ready.shift() as string);
      if (job) void run(job, processor);
    }
  };

  const run = async (job: JobRecord<P, R>, fn: JobProcessor<P, R>) => {
    running++;
    job.state = 'running';
    job.attempts++;
    job.updatedAt = Date.now();
    try {
      job.result = await fn(job.payload, job.attempts);
      job.state = 'succeeded';
      job.error = null;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      job.error = { code: e.code ?? 'internal_error', message: e.message ?? String(err) };
      // A failure that says it will repeat (retryable: false) is not tried again.
      const retryable = (err as { retryable?: unknown }).retryable !== false;
      if (retryable && job.attempts < maxAttempts && !closed) {
        job.state = 'queued';
        later(() => {
          ready.push(job.id);
          pump();
        }, backoffMs * 2 ** (job.attempts - 1));
      } else {
        job.state = 'failed';
      }
    } finally {
      job.updatedAt = Date.now();
      running--;
      if (job.state === 'succeeded' || job.state === 'failed') {
        finished.add(job.id);
        later(() => {
          jobs.delete(job.id);
          finished.delete(job.id);
        }, resultTtlMs);
      }
      pump();
    }
  };

  const makeRoom = () => {
    if (jobs.size < maxJobs) return;
    const oldest = finished.values().next();
    if (oldest.done) throw new JobQueueFullError(maxJobs);
    finished.delete(oldest.value);
    jobs.delete(oldest.value);
  };

  return {
    async enqueue(payload) {
      makeRoom();
      const now = Date.now();
      const job: JobRecord<P, R> = {
        id: `job_${randomUUID().replaceAll('-', '')}`,
        state: 'queued',
        createdAt: now,
        updatedAt: now,
        attempts: 0,
        payload,
        result: null,
        error: null,
      };
      jobs.set(job.id, job);
      ready.push(job.id);
      pump();
      return job;
    },
    async get(id) {
      return jobs.get(id);
    },
    startWorker(fn) {
      processor = fn;
      pump();
    },
    async counts() {
      const counts: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
      for (const job of jobs.values()) counts[job.state]++;
      return counts;
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
