// Server hints for "when may I retry", in the order openai-node reads them:
// `retry-after-ms`, then `retry-after` (seconds or an HTTP date), then OpenAI's
// `x-ratelimit-reset-*` durations (`1s`, `6m0s`, `250ms`).

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const DURATION_WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `6m0s` → 360000; undefined when not a duration. */
export function parseResetDuration(value: string): number | undefined {
  const v = value.trim();
  if (!DURATION_WHOLE.test(v)) return undefined;
  let total = 0;
  for (const m of v.matchAll(DURATION_PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

/** Milliseconds the server asks us to wait, or undefined when it gave no usable hint. */
export function parseRetryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const n = Number(ms);
    if (ms.trim() !== '' && Number.isFinite(n) && n >= 0) return n;
  }
  const ra = headers.get('retry-after');
  if (ra !== null) {
    const trimmed = ra.trim();
    const seconds = Number(trimmed);
    if (trimmed !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(trimmed);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  // Both windows may be exhausted: wait for the later reset.
  let reset: number | undefined;
  for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
    const value = headers.get(name);
    const d = value === null ? undefined : parseResetDuration(value);
    if (d !== undefined && (reset === undefined || d > reset)) reset = d;
  }
  return reset;
}
