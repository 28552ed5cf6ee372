import { addToSpans, bucketSpans } from '../bucket-spans.ts';
import type { TimeRange, TokenUsageStore } from '../types.ts';

export interface MemoryTokenUsageOptions {
  /** Bucket width in ms. Default 60 000 (one minute). */
  bucketMs?: number;
  /** How long buckets are kept, in ms. Default 2 h (covers a 1 h baseline). */
  retentionMs?: number;
  /** Most keys tracked before the least recently written are dropped. Default 100 000. */
  maxKeys?: number;
}

const DEFAULT_BUCKET_MS = 60_000;
const DEFAULT_RETENTION_MS = 2 * 60 * 60_000;
const DEFAULT_MAX_KEYS = 100_000;

/** Per-key token counts in fixed buckets, pruned as they age out. Answers synchronously (see MaybePromise). */
export function memoryTokenUsage(options: MemoryTokenUsageOptions = {}): TokenUsageStore {
  const bucketMs = options.bucketMs ?? DEFAULT_BUCKET_MS;
  const retention = Math.ceil((options.retentionMs ?? DEFAULT_RETENTION_MS) / bucketMs);
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  // key -> (bucket index -> tokens); Map keeps insertion order, used for eviction.
  const keys = new Map<string, Map<number, number>>();
  let lastAdded: string | undefined;

  const sums = (key: string, ranges: readonly TimeRange[]): number[] => {
    const totals = ranges.map(() => 0);
    const buckets = keys.get(key);
    if (!buckets) return totals;
    const spans = bucketSpans(ranges, bucketMs);
    // forEach, not for..of over entries: no [bucket, tokens] array per bucket on every request.
    buckets.forEach((n, b) => addToSpans(totals, spans, b, n));
    return totals;
  };

  return {
    add(key, tokens, nowMs) {
      if (tokens <= 0) return;
      const bucket = Math.floor(nowMs / bucketMs);
      let buckets = keys.get(key);
      if (buckets === undefined) {
        buckets = new Map();
        keys.set(key, buckets);
      } else if (key !== lastAdded) {
        // Most recently written last (eviction order); a key written twice in a row is already there.
        keys.delete(key);
        keys.set(key, buckets);
      }
      lastAdded = key;
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + tokens);
      for (const b of buckets.keys()) if (b <= bucket - retention) buckets.delete(b);
      if (keys.size > maxKeys) keys.delete(keys.keys().next().value as string);
    },
    sum(key, fromMs, toMs) {
      return sums(key, [[fromMs, toMs]])[0]!;
    },
    sums,
  };
}
