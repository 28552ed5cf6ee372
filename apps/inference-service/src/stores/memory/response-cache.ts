import { LRUCache } from 'lru-cache';
import type { CachedAnswer, ResponseCacheStore } from '../types.ts';

/** Bounded LRU with per-entry TTL (lru-cache: well kept, O(1), TTL built in). */
export function memoryResponseCache(maxEntries: number): ResponseCacheStore {
  const lru = new LRUCache<string, CachedAnswer>({ max: maxEntries });
  return {
    async get(key) {
      return lru.get(key);
    },
    async set(key, value, ttlMs) {
      lru.set(key, value, { ttl: ttlMs });
    },
  };
}
