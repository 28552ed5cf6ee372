import type { Redis } from 'ioredis';
import { READS_PER_REQUEST, type JobQueue, type SharedStores } from '../types.ts';
import { closeClient, queueClient, requestPathClient, withTimeout, workerClient, type RedisClientTuning } from './client.ts';
import { bullJobQueue, type BullJobQueueOptions } from './job-queue.ts';
import { redisRateLimiter } from './rate-limiter.ts';
import { redisResponseCache } from './response-cache.ts';
import { redisTokenUsage } from './token-usage.ts';

/** Every key this service writes starts with this (so one Redis can serve other things too). */
export const DEFAULT_KEY_PREFIX = 'llmgw';
/** /readyz waits this long for PING. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 500;
/** Worker connection trouble is reported at most this often (it retries on its own meanwhile). */
export const WORKER_ERROR_REPORT_INTERVAL_MS = 30_000;
/** How long start-up waits for the first connection before serving anyway (the failure policy then applies). */
export const DEFAULT_STARTUP_WAIT_MS = 2000;

export type JobTuning = Pick<
  BullJobQueueOptions,
  'concurrency' | 'lockDurationMs' | 'stalledIntervalMs' | 'maxStalledCount' | 'operationTimeoutMs' | 'closeGraceMs'
>;

export interface RedisStoresOptions {
  url: string;
  requestsPerMinute: number;
  tokensPerMinute: number;
  /** Bucket width and retention of the token counts (see stores/index.ts tokenUsageBuckets). */
  tokenUsage?: { bucketMs: number; retentionMs: number };
  /** Agreement fallback.async. */
  jobs: { maxAttempts: number; backoffMs: number; resultTtlMs: number } & JobTuning;
  /** Default DEFAULT_KEY_PREFIX. */
  keyPrefix?: string;
  client?: RedisClientTuning;
  /** Default DEFAULT_HEALTH_TIMEOUT_MS. */
  healthTimeoutMs?: number;
  /** Told about every store failure that no request reports (metric + log line). */
  reportStoreError: (store: string, error: unknown) => void;
  /** Told when the request-path connection is lost and when it is back (for a log line). */
  onConnectionChange?: (state: 'down' | 'up', error?: unknown) => void;
}

export interface RedisStores<P, R> {
  stores: SharedStores;
  jobs: JobQueue<P, R>;
  /** The request-path client (tests, diagnostics). */
  client: Redis;
  /** Resolves once connected, or false after `timeoutMs` (never rejects). */
  connected(timeoutMs?: number): Promise<boolean>;
}

/**
 * Shared state on one Redis: limits, token usage and cache on a fail-fast
 * request-path client; jobs on BullMQ, whose worker has its own (blocking)
 * connections. Nothing here throws out of an event: a dead Redis shows up as
 * failed calls (the admission policy decides) and comes back by itself.
 */
export function redisStores<P, R>(options: RedisStoresOptions): RedisStores<P, R> {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const client = requestPathClient(options.url, options.client, {
    down: (err) => options.onConnectionChange?.('down', err),
    up: () => options.onConnectionChange?.('up'),
  });
  let lastWorkerReport = -Infinity;
  const reportJobsError = (err: unknown) => {
    const now = Date.now();
    if (now - lastWorkerReport < WORKER_ERROR_REPORT_INTERVAL_MS) return;
    lastWorkerReport = now;
    options.reportStoreError('async_jobs', err);
  };
  const workerTemplates: Redis[] = [];
  const jobsClient = queueClient(options.url, options.client);
  const jobs = bullJobQueue<P, R>({
    ...options.jobs,
    client: jobsClient,
    prefix,
    workerConnection: () => {
      // BullMQ duplicates it into the worker's own (main and blocking) connections.
      const template = workerClient(options.url, options.client);
      workerTemplates.push(template);
      return template;
    },
    onError: reportJobsError,
  });
  const healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const stores: SharedStores = {
    kind: 'redis',
    requestLimiter: redisRateLimiter(client, { points: options.requestsPerMinute, durationSeconds: 60, keyPrefix: `${prefix}:rl:req` }),
    readLimiter: redisRateLimiter(client, { points: options.requestsPerMinute * READS_PER_REQUEST, durationSeconds: 60, keyPrefix: `${prefix}:rl:read` }),
    tokenLimiter: redisRateLimiter(client, { points: options.tokensPerMinute, durationSeconds: 60, keyPrefix: `${prefix}:rl:tok` }),
    tokenUsage: redisTokenUsage(client, { keyPrefix: `${prefix}:tok:`, ...options.tokenUsage }),
    cache: redisResponseCache(client, `${prefix}:cache:`),
    async healthy() {
      try {
        return (await withTimeout(client.ping(), healthTimeoutMs, 'PING')) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      await jobs.close();
      for (const t of workerTemplates) t.disconnect();
      await Promise.all([closeClient(jobsClient), closeClient(client)]);
    },
  };
  const connected = async (timeoutMs = DEFAULT_STARTUP_WAIT_MS): Promise<boolean> => {
    const results = await Promise.all([client, jobsClient].map((c) => readyWithin(c, timeoutMs)));
    return results.every(Boolean);
  };
  return { stores, jobs, client, connected };
}

export { redisRateLimiter, redisResponseCache, redisTokenUsage, bullJobQueue };
export { queueClient, requestPathClient, workerClient, type RedisClientTuning } from './client.ts';

function readyWithin(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref?.();
    client.on('ready', onReady);
  });
}
