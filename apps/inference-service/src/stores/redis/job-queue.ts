import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_MAX_JOBS, JobQueueFullError, type JobProcessor, type JobQueue, type JobRecord, type JobState } from '../types.ts';
import { withTimeout } from './client.ts';

/** Queue name; with the prefix its keys are `<prefix>:chat-jobs:*`. */
export const QUEUE_NAME = 'chat-jobs';
/** Jobs one worker runs at once. */
export const DEFAULT_CONCURRENCY = 4;
/** BullMQ's defaults: a job whose worker died is taken back within about 30 s. */
export const DEFAULT_LOCK_DURATION_MS = 30_000;
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
/** Times a job may be taken back from a dead worker before it is failed. */
export const DEFAULT_MAX_STALLED_COUNT = 1;
/** Request-path queue calls (enqueue, get, counts) give up after this long. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 1000;
/** How long `close()` waits for running jobs before leaving them to another worker. */
export const DEFAULT_CLOSE_GRACE_MS = 5000;

export interface BullJobQueueOptions {
  /** Client for enqueue, get and counts (no offline queue; see queueClient), shared, never closed here. */
  client: Redis;
  /** Template for the worker's connections (maxRetriesPerRequest: null); BullMQ duplicates it. */
  workerConnection: () => Redis;
  /** BullMQ key prefix. */
  prefix: string;
  /** Attempts per job before it is failed (agreement fallback.async.maxAttempts). */
  maxAttempts: number;
  /** First retry delay, doubled each attempt (agreement fallback.async.backoffMs). */
  backoffMs: number;
  /** How long finished jobs stay readable (agreement fallback.async.resultTtlMs). */
  resultTtlMs: number;
  /**
   * Most unfinished jobs (waiting, delayed or running) before `enqueue` throws JobQueueFullError,
   * as the in-memory queue does: an outage that turns every request into a job must not fill Redis.
   * Checked before each add, so instances adding at the same moment may pass it by a few. Default 10 000.
   */
  maxJobs?: number;
  /** Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
  /** How long a worker's lock on a job lasts without renewal. Default DEFAULT_LOCK_DURATION_MS. */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired. Default DEFAULT_STALLED_INTERVAL_MS. */
  stalledIntervalMs?: number;
  /** Default DEFAULT_MAX_STALLED_COUNT. */
  maxStalledCount?: number;
  /** Default DEFAULT_OPERATION_TIMEOUT_MS. */
  operationTimeoutMs?: number;
  /** Default DEFAULT_CLOSE_GRACE_MS. */
  closeGraceMs?: number;
  /** Told about queue and worker connection errors (already throttled by the caller if it wants). */
  onError: (error: unknown) => void;
}

const STATE_OF: Readonly<Record<string, JobState>> = {
  waiting: 'queued',
  delayed: 'queued',
  prioritized: 'queued',
  paused: 'queued',
  'waiting-children': 'queued',
  active: 'running',
  completed: 'succeeded',
  failed: 'failed',
};
const COUNTED: JobType[] = ['waiting', 'delayed', 'prioritized', 'waiting-children', 'active', 'completed', 'failed'];
const UNFINISHED: JobType[] = ['waiting', 'delayed', 'prioritized', 'waiting-children', 'active'];
/** `code: message`, how a failed attempt's typed error survives BullMQ's string `failedReason`. */
const REASON = /^([a-z][a-z0-9_]*): ([\s\S]*)$/;

/**
 * Durable async jobs on BullMQ: any instance enqueues, a worker in any
 * instance runs them, every instance reads them. A worker that dies mid-job
 * loses its lock and another worker takes the job back (stalled-job check);
 * failed attempts are retried with exponential backoff; finished jobs are
 * removed once older than the result TTL.
 */
export function bullJobQueue<P, R>(options: BullJobQueueOptions): JobQueue<P, R> {
  const timeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const maxJobs = options.maxJobs ?? DEFAULT_MAX_JOBS;
  const keepSeconds = Math.max(1, Math.ceil(options.resultTtlMs / 1000));
  const queue = new Queue<P, R, string>(QUEUE_NAME, {
    connection: options.client,
    prefix: options.prefix,
    defaultJobOptions: {
      attempts: options.maxAttempts,
      backoff: { type: 'exponential', delay: options.backoffMs },
      removeOnComplete: { age: keepSeconds },
      removeOnFail: { age: keepSeconds },
    },
  });
  queue.on('error', options.onError);
  let worker: Worker<P, R> | undefined;
  let closing: Promise<void> | undefined;

  // While the client is not connected a call would wait for BullMQ's
  // connection set-up indefinitely: refuse at once, and bound the rest.
  const connected = <T>(what: string, run: () => Promise<T>): Promise<T> => {
    if (options.client.status !== 'ready') return Promise.reject(new Error(`Redis is not connected (${options.client.status}); cannot ${what}`));
    return withTimeout(run(), timeoutMs, `job queue ${what}`);
  };

  return {
    async enqueue(payload) {
      const id = `job_${randomUUID().replaceAll('-', '')}`;
      const job = await connected('enqueue', async () => {
        const counts = await queue.getJobCounts(...UNFINISHED);
        if (UNFINISHED.reduce((n, t) => n + (counts[t] ?? 0), 0) >= maxJobs) throw new JobQueueFullError(maxJobs);
        return queue.add('chat' as never, payload as never, { jobId: id }) as Promise<Job<P, R>>;
      });
      return toRecord(job, 'queued');
    },
    async get(id) {
      return connected('read a job', async () => {
        // State first, then the job: a job that finishes between the two reads
        // shows as running once more, never as succeeded without its result.
        const mapped = STATE_OF[await queue.getJobState(id)];
        if (!mapped) return undefined;
        const job = (await queue.getJob(id)) as Job<P, R> | undefined;
        return job ? toRecord(job, mapped) : undefined;
      });
    },
    startWorker(processor: JobProcessor<P, R>) {
      if (worker) return;
      worker = new Worker<P, R>(
        QUEUE_NAME,
        async (job) => {
          try {
            return await processor(job.data, job.attemptsMade + 1);
          } catch (err) {
            throw attemptError(err);
          }
        },
        {
          connection: options.workerConnection(),
          prefix: options.prefix,
          concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
          lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
          stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
          maxStalledCount: options.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT,
        },
      );
      // Without a listener a connection error would be thrown from emit and crash the process.
      worker.on('error', options.onError);
    },
    async counts() {
      const raw = await connected('count jobs', () => queue.getJobCounts(...COUNTED));
      const counts: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
      for (const [type, n] of Object.entries(raw)) {
        const state = STATE_OF[type];
        if (state) counts[state] += n;
      }
      return counts;
    },
    close() {
      closing ??= (async () => {
        const w = worker;
        worker = undefined;
        if (w) {
          // Graceful: running jobs finish; past the grace they are left locked, and another worker takes them back.
          try {
            await withTimeout(w.close(), options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS, 'worker close');
          } catch {
            await w.close(true).catch(() => undefined);
          }
        }
        await queue.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}

function toRecord<P, R>(job: Job<P, R>, state: JobState): JobRecord<P, R> {
  const attempts = Math.max(job.attemptsMade ?? 0, job.attemptsStarted ?? 0);
  let error: JobRecord['error'] = null;
  if (job.failedReason) {
    const m = REASON.exec(job.failedReason);
    error = m ? { code: m[1]!, message: m[2]! } : { code: 'internal_error', message: job.failedReason };
  }
  return {
    id: job.id as string,
    state,
    createdAt: job.timestamp,
    updatedAt: Math.max(job.timestamp, job.processedOn ?? 0, job.finishedOn ?? 0),
    attempts,
    payload: job.data,
    result: state === 'succeeded' ? (job.returnvalue ?? null) : null,
    error: state === 'succeeded' ? null : error,
  };
}

/** Keeps the typed error's code in BullMQ's `failedReason` (a plain string). */
function attemptError(err: unknown): Error {
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown };
  const code = typeof e?.code === 'string' && /^[a-z][a-z0-9_]*$/.test(e.code) ? e.code : 'internal_error';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // A failure that says it will repeat (e.g. invalid_model_output) fails the job now instead of being retried.
  return e?.retryable === false ? new UnrecoverableError(`${code}: ${message}`) : new Error(`${code}: ${message}`);
}
