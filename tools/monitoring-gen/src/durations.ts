/** Prometheus duration strings ("5m", "1h30m"), as the agreement writes its windows. */

const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;
const PART = /(\d+)(ms|s|m|h|d|w|y)/g;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** Seconds in a Prometheus duration; throws a DurationError naming `where` for anything else. */
export function durationSeconds(value: string, where: string): number {
  if (!DURATION.test(value)) throw new DurationError(`${where}: '${value}' is not a Prometheus duration (e.g. 5m, 1h, 1h30m)`);
  let seconds = 0;
  for (const [, n, unit] of value.matchAll(PART)) seconds += Number(n) * UNIT_SECONDS[unit!]!;
  if (seconds <= 0) throw new DurationError(`${where}: '${value}' must be longer than zero`);
  return seconds;
}

/** The shortest Prometheus duration string for a whole number of seconds (e.g. 3600 -> "1h", 90 -> "1m30s"). */
export function formatDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds <= 0) throw new DurationError(`cannot format ${seconds} s as a Prometheus duration`);
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
