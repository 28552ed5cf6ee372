import type { Redis } from 'ioredis';
import type { CachedAnswer, ResponseCacheStore } from '../types.ts';

/**
 * Fallback answers shared by every instance: one JSON string per key with
 * its TTL (SET PX). Redis' own eviction policy bounds memory, not an entry count.
 */
export function redisResponseCache(client: Redis, keyPrefix: string): ResponseCacheStore {
  return {
    async get(key) {
      const raw = await client.get(keyPrefix + key);
      if (raw === null) return undefined;
      try {
        return JSON.parse(raw) as CachedAnswer;
      } catch {
        return undefined; // a damaged entry is a miss, not an error
      }
    },
    async set(key, value, ttlMs) {
      await client.set(keyPrefix + key, JSON.stringify(value), 'PX', Math.max(1, Math.round(ttlMs)));
    },
  };
}
