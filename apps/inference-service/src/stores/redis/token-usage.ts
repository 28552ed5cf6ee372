import type { Redis } from 'ioredis';
import { addToSpans, bucketSpans } from '../bucket-spans.ts';
import type { TimeRange, TokenUsageStore } from '../types.ts';

export interface RedisTokenUsageOptions {
  /** Namespaces the bucket keys (e.g. `llmgw:tok:`). */
  keyPrefix: string;
  /** Bucket width in ms. Default 60 000 (one minute), as in memory. */
  bucketMs?: number;
  /** How long a bucket lives, in ms. Default 2 h (covers a 1 h baseline before a 10 min window). */
  retentionMs?: number;
}

const DEFAULT_BUCKET_MS = 60_000;
const DEFAULT_RETENTION_MS = 2 * 60 * 60_000;

/**
 * Token counts in one Redis key per (key, bucket): INCRBY and PEXPIRE in one
 * MULTI (a bucket never lives without its expiry), sums with one MGET over
 * the buckets of the ranges. Buckets older than the retention are gone, so a
 * range is clipped to it.
 */
export function redisTokenUsage(client: Redis, options: RedisTokenUsageOptions): TokenUsageStore {
  const bucketMs = options.bucketMs ?? DEFAULT_BUCKET_MS;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const retentionBuckets = Math.ceil(retentionMs / bucketMs);
  // The bucket outlives its own width by the retention, so the oldest bucket a sum may read is still there.
  const ttlMs = retentionMs + bucketMs;
  const bucketKey = (key: string, bucket: number) => `${options.keyPrefix}${key}:${bucket}`;

  const sums = async (key: string, ranges: readonly TimeRange[]): Promise<number[]> => {
    const totals = ranges.map(() => 0);
    const spans = bucketSpans(ranges, bucketMs).map(([from, to]) => [Math.max(from, to - retentionBuckets), to] as const);
    const live = spans.filter(([from, to]) => from <= to);
    if (live.length === 0) return totals;
    // One MGET over the union of the ranges, itself clipped to the retention.
    const hi = Math.max(...live.map(([, to]) => to));
    const lo = Math.max(Math.min(...live.map(([from]) => from)), hi - retentionBuckets);
    const keys: string[] = [];
    for (let b = lo; b <= hi; b++) keys.push(bucketKey(key, b));
    const values = await client.mget(keys);
    for (let b = lo; b <= hi; b++) {
      const v = values[b - lo];
      if (v !== null && v !== undefined) addToSpans(totals, spans, b, Number(v));
    }
    return totals;
  };

  return {
    async add(key, tokens, nowMs) {
      if (tokens <= 0) return;
      const k = bucketKey(key, Math.floor(nowMs / bucketMs));
      await client.multi().incrby(k, Math.round(tokens)).pexpire(k, ttlMs).exec();
    },
    async sum(key, fromMs, toMs) {
      return (await sums(key, [[fromMs, toMs]]))[0]!;
    },
    sums,
  };
}
