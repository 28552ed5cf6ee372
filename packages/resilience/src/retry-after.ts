/**
 * Reads how long an upstream asks us to wait, from response headers, in this
 * order (the most precise first, as openai-node does):
 *   1. `retry-after-ms`: milliseconds (OpenAI, Azure);
 *   2. `Retry-After`: delta-seconds or an HTTP date (RFC 9110);
 *   3. `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens`: OpenAI's
 *      Go-style duration ("1s", "6m0s", "20ms", "1h2m3.5s"). When a
 *      `x-ratelimit-remaining-*` header says which limit is exhausted, its
 *      reset wins; otherwise the later of the two.
 * Returns whole milliseconds (rounded up), or `undefined` when no header gives
 * a usable value. Never negative, never NaN, never Infinity.
 */

/** `Headers`, or anything with a case-insensitive `get`. */
export interface HeadersLike {
  get(name: string): string | null | undefined;
}

/** A plain header record (e.g. Node's IncomingHttpHeaders), keys in lower case. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

export type HeadersInput = HeadersLike | HeaderRecord;

// Module scope: compiled once (see STYLE "Hot path").
const DELTA_SECONDS = /^\s*\d+(?:\.\d+)?\s*$/;
// An IMF-fixdate always names the weekday/month; without letters, Date.parse
// would read "-5" as a year.
const HAS_LETTER = /[a-z]/i;
// Go's micro sign is written \u00b5: esbuild leaves regular expressions as they are, and the
// service's bundle must stay ASCII (apps/inference-service/scripts/bundle.ts says why).
const DURATION =
  /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?(?:(\d+(?:\.\d+)?)(?:us|\u00b5s))?(?:(\d+(?:\.\d+)?)ns)?$/;

export function readHeader(headers: HeadersInput, name: string): string | undefined {
  if (typeof (headers as HeadersLike).get === 'function') {
    const value = (headers as HeadersLike).get(name);
    return value ?? undefined;
  }
  const value = (headers as HeaderRecord)[name] ?? (headers as HeaderRecord)[name.toLowerCase()];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value[0];
}

export interface RetryAfterOptions {
  /**
   * Read the rate-limit reset headers (step 3). Default true. They say when a quota refills, which
   * answers "when may I retry" only for a 429: on a 5xx they describe a quota the failure did not
   * touch (OpenAI sends them on every answer), and reading them there would postpone a retry by
   * up to the quota's window.
   */
  rateLimitReset?: boolean;
}

export function parseRetryAfter(headers: HeadersInput | null | undefined, now: number = Date.now(), options: RetryAfterOptions = {}): number | undefined {
  if (headers == null) return undefined;

  const ms = readHeader(headers, 'retry-after-ms');
  if (ms !== undefined) {
    const parsed = parseNonNegativeNumber(ms);
    if (parsed !== undefined) return Math.ceil(parsed);
  }

  const retryAfter = readHeader(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const parsed = parseRetryAfterValue(retryAfter, now);
    if (parsed !== undefined) return parsed;
  }

  return options.rateLimitReset === false ? undefined : parseRateLimitReset(headers);
}

/** `Retry-After` alone: delta-seconds or an HTTP date (a past date means 0). */
export function parseRetryAfterValue(value: string, now: number = Date.now()): number | undefined {
  if (DELTA_SECONDS.test(value)) {
    const seconds = Number(value);
    return Number.isFinite(seconds) ? Math.ceil(seconds * 1000) : undefined;
  }
  if (!HAS_LETTER.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil(date - now));
}

/** OpenAI/Go duration ("6m0s") to ms; a bare number is seconds. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) ? Math.ceil(seconds * 1000) : undefined;
  }
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  const [, h, m, s, msPart, us, ns] = match;
  const total =
    num(h) * 3_600_000 + num(m) * 60_000 + num(s) * 1000 + num(msPart) + num(us) / 1000 + num(ns) / 1_000_000;
  return Number.isFinite(total) ? Math.ceil(total) : undefined;
}

function parseRateLimitReset(headers: HeadersInput): number | undefined {
  const requestsReset = optionalDuration(readHeader(headers, 'x-ratelimit-reset-requests'));
  const tokensReset = optionalDuration(readHeader(headers, 'x-ratelimit-reset-tokens'));
  if (requestsReset === undefined) return tokensReset;
  if (tokensReset === undefined) return requestsReset;
  const requestsExhausted = readHeader(headers, 'x-ratelimit-remaining-requests')?.trim() === '0';
  const tokensExhausted = readHeader(headers, 'x-ratelimit-remaining-tokens')?.trim() === '0';
  if (requestsExhausted && !tokensExhausted) return requestsReset;
  if (tokensExhausted && !requestsExhausted) return tokensReset;
  return Math.max(requestsReset, tokensReset);
}

function optionalDuration(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}

function parseNonNegativeNumber(value: string): number | undefined {
  if (!DELTA_SECONDS.test(value)) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function num(part: string | undefined): number {
  return part === undefined ? 0 : Number(part);
}
