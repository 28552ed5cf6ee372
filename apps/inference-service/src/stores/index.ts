import type { Agreement } from '@llmgw/contract';
import type { ChatJobPayload } from '../chat/handler.ts';
import type { CompletionBody } from '../chat/wire.ts';
import { memoryJobQueue, memoryStores } from './memory/index.ts';
import type { JobQueue, SharedStores } from './types.ts';

export interface OpenStoresOptions {
  /** REDIS_URL; undefined = in-memory stores (one instance, nothing installed). */
  redisUrl: string | undefined;
  agreement: Agreement;
  /** Told about every store failure (metric + log line). */
  reportStoreError: (store: string, error: unknown) => void;
}

export interface OpenedStores {
  stores: SharedStores;
  jobs: JobQueue<ChatJobPayload, CompletionBody>;
}

/** Chooses the shared-state implementation once at start: memory by default, Redis when REDIS_URL is set. */
export async function openStores(options: OpenStoresOptions): Promise<OpenedStores> {
  const { agreement } = options;
  if (options.redisUrl) {
    throw new Error('REDIS_URL is set but the Redis stores are not available in this build');
  }
  return {
    stores: memoryStores({
      requestsPerMinute: agreement.rateLimits.requestsPerMinute,
      tokensPerMinute: agreement.rateLimits.tokensPerMinute,
      cacheMaxEntries: agreement.fallback.cache.maxEntries,
    }),
    jobs: memoryJobQueue<ChatJobPayload, CompletionBody>({
      maxAttempts: agreement.fallback.async.maxAttempts,
      backoffMs: agreement.fallback.async.backoffMs,
      resultTtlMs: agreement.fallback.async.resultTtlMs,
    }),
  };
}
