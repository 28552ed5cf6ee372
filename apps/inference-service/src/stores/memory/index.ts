import { READS_PER_REQUEST, type SharedStores } from '../types.ts';
import { memoryRateLimiter } from './rate-limiter.ts';
import { memoryResponseCache } from './response-cache.ts';
import { memoryTokenUsage } from './token-usage.ts';

export interface MemoryStoresOptions {
  requestsPerMinute: number;
  tokensPerMinute: number;
  cacheMaxEntries: number;
  /** Bucket width and retention of the token counts (see stores/index.ts tokenUsageBuckets). */
  tokenUsage?: { bucketMs: number; retentionMs: number };
}

export function memoryStores(options: MemoryStoresOptions): SharedStores {
  return {
    kind: 'memory',
    requestLimiter: memoryRateLimiter({ points: options.requestsPerMinute, durationSeconds: 60 }),
    readLimiter: memoryRateLimiter({ points: options.requestsPerMinute * READS_PER_REQUEST, durationSeconds: 60 }),
    tokenLimiter: memoryRateLimiter({ points: options.tokensPerMinute, durationSeconds: 60 }),
    tokenUsage: memoryTokenUsage(options.tokenUsage),
    cache: memoryResponseCache(options.cacheMaxEntries),
    async healthy() {
      return true;
    },
    async close() {},
  };
}

export { memoryJobQueue } from './job-queue.ts';
