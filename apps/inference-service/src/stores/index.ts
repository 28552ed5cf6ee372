import type { Agreement } from '@llmgw/contract';
import type { ChatJobPayload } from '../chat/handler.ts';
import type { CompletionBody } from '../chat/wire.ts';
import { memoryJobQueue, memoryStores } from './memory/index.ts';
import type { JobTuning } from './redis/index.ts';
import type { RedisClientTuning } from './redis/client.ts';
import type { JobQueue, SharedStores } from './types.ts';

export interface OpenStoresOptions {
  /** REDIS_URL; undefined = in-memory stores (one instance, nothing installed). */
  redisUrl: string | undefined;
  agreement: Agreement;
  /** Told about every store failure (metric + log line). */
  reportStoreError: (store: string, error: unknown) => void;
  /** Told when the Redis connection is lost and when it is back (a log line); Redis only. */
  onConnectionChange?: (state: 'down' | 'up', error?: unknown) => void;
  /** Redis only: key prefix, client timeouts, worker lock/stall timing (defaults in ./redis). */
  redis?: { keyPrefix?: string; client?: RedisClientTuning; jobs?: JobTuning; healthTimeoutMs?: number; startupWaitMs?: number };
}

export interface OpenedStores {
  stores: SharedStores;
  jobs: JobQueue<ChatJobPayload, CompletionBody>;
}

/** Chooses the shared-state implementation once at start: memory by default, Redis when REDIS_URL is set. */
export async function openStores(options: OpenStoresOptions): Promise<OpenedStores> {
  const { agreement } = options;
  const async = agreement.fallback.async;
  if (options.redisUrl) {
    // Loaded only when used: ioredis and BullMQ cost ~18 MB of memory at start.
    const { redisStores } = await import('./redis/index.ts');
    const { stores, jobs, connected } = redisStores<ChatJobPayload, CompletionBody>({
      url: options.redisUrl,
      requestsPerMinute: agreement.rateLimits.requestsPerMinute,
      tokensPerMinute: agreement.rateLimits.tokensPerMinute,
      tokenUsage: tokenUsageBuckets(agreement),
      jobs: { maxAttempts: async.maxAttempts, backoffMs: async.backoffMs, resultTtlMs: async.resultTtlMs, ...options.redis?.jobs },
      keyPrefix: options.redis?.keyPrefix,
      client: options.redis?.client,
      healthTimeoutMs: options.redis?.healthTimeoutMs,
      reportStoreError: options.reportStoreError,
      onConnectionChange: options.onConnectionChange,
    });
    // Wait a moment for the first connection so the first requests see shared
    // limits; a Redis still down after that is the same case as one that goes
    // down later: the failure policy applies and the client reconnects by itself.
    if (!(await connected(options.redis?.startupWaitMs))) options.reportStoreError('rate_limit', new Error(`Redis at start-up: not reachable yet; serving under LLM_STORE_FAILURE policy`));
    return { stores, jobs };
  }
  return memoryDefaults(agreement);
}

/** In-memory stores sized from the agreement: one instance, nothing installed. */
export function memoryDefaults(agreement: Agreement): OpenedStores {
  const async = agreement.fallback.async;
  return {
    stores: memoryStores({
      requestsPerMinute: agreement.rateLimits.requestsPerMinute,
      tokensPerMinute: agreement.rateLimits.tokensPerMinute,
      cacheMaxEntries: agreement.fallback.cache.maxEntries,
      tokenUsage: tokenUsageBuckets(agreement),
    }),
    jobs: memoryJobQueue<ChatJobPayload, CompletionBody>({
      maxAttempts: async.maxAttempts,
      backoffMs: async.backoffMs,
      resultTtlMs: async.resultTtlMs,
    }),
  };
}

/**
 * Token-usage bucket width and retention from the budget's windows: buckets a
 * tenth of the shortest window (100 ms to 60 s), kept for the longest span the
 * budget looks at. The budget is given the width, so that "recent" and
 * "baseline" never count the same bucket.
 */
export function tokenUsageBuckets(agreement: Agreement): { bucketMs: number; retentionMs: number } {
  const { windowMs, runaway } = agreement.tokenBudget;
  const shortest = Math.min(windowMs, runaway.recentWindowMs);
  const bucketMs = Math.min(60_000, Math.max(100, Math.floor(shortest / 10)));
  const retentionMs = Math.max(windowMs, runaway.recentWindowMs + runaway.baselineWindowMs) + bucketMs;
  return { bucketMs, retentionMs };
}
