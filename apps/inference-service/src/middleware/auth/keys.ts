import { hash, timingSafeEqual } from 'node:crypto';

export interface ApiKeyEntry {
  /** A name for logs and limits: never the key. */
  id: string;
  /** Models this key may use (registry names or requested names); omitted = all. */
  models?: string[];
}

export interface KeyInfo {
  id: string;
  models?: ReadonlySet<string>;
}

interface StoredKey {
  digest: Buffer;
  info: KeyInfo;
}

/**
 * Parses `LLM_API_KEYS`: comma-separated `key` or `key=id` or
 * `key=id:model1|model2` entries. Example:
 * `sk-team-a=team-a:gpt-4o-mini|claude-3.5-sonnet,sk-ops=ops`.
 */
export function parseApiKeys(spec: string): Map<string, ApiKeyEntry> {
  const keys = new Map<string, ApiKeyEntry>();
  spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .forEach((entry, i) => {
      const eq = entry.indexOf('=');
      const key = eq < 0 ? entry : entry.slice(0, eq);
      const rest = eq < 0 ? `key-${i + 1}` : entry.slice(eq + 1);
      const [id, models] = rest.split(':', 2);
      if (!key || !id) throw new Error(`LLM_API_KEYS: entry ${i + 1} is not 'key', 'key=id' or 'key=id:model|model'`);
      keys.set(key, { id, models: models ? models.split('|').filter(Boolean) : undefined });
    });
  return keys;
}

/**
 * Looks keys up by comparing SHA-256 digests in constant time, against every
 * configured key (the work does not depend on which key, if any, matches).
 *
 * A key that verified once is remembered by its text, so the steady state
 * (the same few keys on every request) skips the digest: OpenSSL's one-shot
 * hash measured ~5 % of a request's CPU. Only keys that matched are stored, so
 * the map never holds more entries than there are configured keys, and a
 * caller guessing keys always takes the constant-time path; what the fast
 * path reveals by its timing (that the key is valid) the answer says anyway.
 */
export function createKeyVerifier(keys: ReadonlyMap<string, ApiKeyEntry>) {
  const stored: StoredKey[] = [...keys].map(([key, entry]) => ({
    digest: sha256(key),
    info: { id: entry.id, models: entry.models ? new Set(entry.models) : undefined },
  }));
  const verified = new Map<string, KeyInfo>();
  return function verify(presented: string): KeyInfo | undefined {
    const known = verified.get(presented);
    if (known !== undefined) return known;
    const digest = sha256(presented);
    let found: KeyInfo | undefined;
    for (const k of stored) if (timingSafeEqual(k.digest, digest)) found = k.info;
    if (found !== undefined) verified.set(presented, found);
    return found;
  };
}

function sha256(s: string): Buffer {
  // One-shot crypto.hash: cheaper than createHash().update().digest() on the hot path.
  return hash('sha256', s, 'buffer');
}
