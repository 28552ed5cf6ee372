import { hash } from 'node:crypto';

/**
 * Builds the fallback cache key. `template` is either `request-hash` (a hash
 * of the normalized model-relevant request) or a template such as the
 * article's `faq:{question[:50]}`, where `question` is the last user message,
 * normalized (trimmed, lower-cased, whitespace collapsed). Structured requests
 * add the schema's hash, so a text answer never serves a JSON request.
 * Every key starts with its `scope` (see `cacheScope`): the template says which
 * questions are the same, never whose answers may be shared.
 */
export function compileCacheKey(template: string): (scope: string, question: string, requestHash: () => string, schemaHash?: string) => string {
  const suffix = (schemaHash?: string) => (schemaHash ? `:schema:${schemaHash}` : '');
  // The request hash is a thunk: only the request-hash template pays for hashing the whole request.
  if (template === 'request-hash') return (scope, _q, requestHash, schemaHash) => `${scope}|req:${requestHash()}${suffix(schemaHash)}`;
  const m = /^(.*)\{question(?:\[:(\d+)\])?\}(.*)$/.exec(template);
  if (!m) throw new Error(`fallback.cache.key: unsupported template '${template}' (use 'request-hash' or a text with {question} or {question[:N]})`);
  const [, before = '', limit, after = ''] = m;
  const max = limit ? Number(limit) : Infinity;
  return (scope, question, _hash, schemaHash) => `${scope}|${before}${normalizedPrefix(question, max)}${after}${suffix(schemaHash)}`;
}

/**
 * Whom a cached answer may serve: callers with the same API key id (an answer
 * never crosses tenants: it may quote their data), and the same system
 * instructions (they shape the answer as much as the question does). The id is
 * length-prefixed so no id can pass for another id followed by instructions.
 */
export function cacheScope(keyId: string, instructions: readonly string[]): string {
  const key = `key:${keyId.length}:${keyId}`;
  return instructions.length === 0 ? key : `${key}|sys:${hashOf(JSON.stringify(instructions))}`;
}

export function normalize(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * `normalize(text).slice(0, max)`, reading only as much of `text` as that needs: the
 * question is the whole last user message, often a long prompt, and the key keeps 50
 * characters of it. Normalizing a prefix of the text gives a prefix of the normalized
 * text, except perhaps for its last character (a capital sigma lower-cases to a final
 * sigma when the cut leaves it last; a trailing whitespace run is trimmed), so a window
 * whose result is longer than `max` by a margin settles it; one that is not grows fourfold.
 */
export function normalizedPrefix(text: string, max: number): string {
  for (let window = 2 * max + 16; window < text.length; window *= 4) {
    const head = normalize(text.slice(0, window));
    if (head.length >= max + 2) return head.slice(0, max);
  }
  return normalize(text).slice(0, max);
}

export function hashOf(value: string): string {
  return hash('sha256', value, 'hex').slice(0, 32);
}
