import { hash } from 'node:crypto';

/**
 * Builds the fallback cache key. `template` is either `request-hash` (a hash
 * of the normalized model-relevant request) or a template such as the
 * article's `faq:{question[:50]}`, where `question` is the last user message,
 * normalized (trimmed, lower-cased, whitespace collapsed). Structured requests
 * add the schema's hash, so a text answer never serves a JSON request.
 */
export function compileCacheKey(template: string): (question: string, requestHash: () => string, schemaHash?: string) => string {
  const suffix = (schemaHash?: string) => (schemaHash ? `:schema:${schemaHash}` : '');
  // The request hash is a thunk: only the request-hash template pays for hashing the whole request.
  if (template === 'request-hash') return (_q, requestHash, schemaHash) => `req:${requestHash()}${suffix(schemaHash)}`;
  const m = /^(.*)\{question(?:\[:(\d+)\])?\}(.*)$/.exec(template);
  if (!m) throw new Error(`fallback.cache.key: unsupported template '${template}' (use 'request-hash' or a text with {question} or {question[:N]})`);
  const [, before = '', limit, after = ''] = m;
  const max = limit ? Number(limit) : Infinity;
  return (question, _hash, schemaHash) => `${before}${normalize(question).slice(0, max)}${after}${suffix(schemaHash)}`;
}

export function normalize(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ');
}

export function hashOf(value: string): string {
  return hash('sha256', value, 'hex').slice(0, 32);
}
