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

/** What an id may be made of: it shows in logs and names limits, budgets, cache scopes and jobs. */
const KEY_ID = /^[A-Za-z0-9._@-]+$/;

/**
 * Parses `LLM_API_KEYS`: comma-separated `key` or `key=id` or
 * `key=id:model1|model2` entries. Example:
 * `sk-team-a=team-a:gpt-4o-mini|claude-3.5-sonnet,sk-ops=ops`.
 *
 * - The key ends at the last `=` that is followed by a valid id, so keys may
 *   contain `=` (base64 keys end in `==`): `abc==` is a key with no id,
 *   `abc===ops` the key `abc==` with the id `ops`.
 * - The models follow the first `:` after the id, so model names may contain
 *   `:` (`openai:gpt-4o`).
 * - A key given without an id is named after a hash of the key (`key-1a2b3c4d`),
 *   not after its place in the list: the id owns jobs, cache entries, limits and
 *   budgets, and removing another key from the list must not hand them over.
 * - Several keys may share an id on purpose (a key being rotated: old and new
 *   count as one caller).
 */
export function parseApiKeys(spec: string): Map<string, ApiKeyEntry> {
  const keys = new Map<string, ApiKeyEntry>();
  spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .forEach((entry, i) => {
      const { key, id, models } = splitEntry(entry);
      if (!key) throw new Error(`LLM_API_KEYS: entry ${i + 1} has no key before its id (format: 'key', 'key=id' or 'key=id:model|model')`);
      if (keys.has(key)) throw new Error(`LLM_API_KEYS: entry ${i + 1} repeats a key given before`);
      keys.set(key, { id: id ?? `key-${hash('sha256', key, 'hex').slice(0, 8)}`, models });
    });
  return keys;
}

function splitEntry(entry: string): { key: string; id?: string; models?: string[] } {
  for (let eq = entry.lastIndexOf('='); eq >= 0; eq = entry.lastIndexOf('=', eq - 1)) {
    const rest = entry.slice(eq + 1);
    const colon = rest.indexOf(':');
    const id = colon < 0 ? rest : rest.slice(0, colon);
    if (!KEY_ID.test(id)) continue;
    const models = colon < 0 ? undefined : rest.slice(colon + 1).split('|').filter(Boolean);
    return { key: entry.slice(0, eq), id, models };
  }
  return { key: entry };
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
