import { LRUCache } from 'lru-cache';
import type { CachedAnswer, ResponseCacheStore } from '../types.ts';

/** Bounded LRU with per-entry TTL (lru-cache: well kept, O(1), TTL built in). */
export function memoryResponseCache(maxEntries: number, now: () => number = () => performance.now()): ResponseCacheStore {
  // lru-cache reads its clock through `perf`; passing ours keeps TTLs testable with fake timers.
  const lru = new LRUCache<string, CachedAnswer>({ max: maxEntries, perf: { now } });
  return {
    async get(key) {
      return lru.get(key);
    },
    async set(key, value, ttlMs) {
      lru.set(key, value, { ttl: ttlMs });
    },
  };
}
