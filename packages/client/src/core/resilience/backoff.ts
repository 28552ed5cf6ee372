import { agreement } from '../../generated/agreement.ts';

export interface BackoffOptions {
  initialDelayMs: number;
  multiplier: number;
  maxDelayMs: number;
  /** `full`: uniform in [0, delay] (AWS "full jitter"); `none`: the exact delay. */
  jitter: 'full' | 'none';
  /** Source of randomness in [0, 1); inject a constant in tests. */
  random: () => number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: agreement.retry.initialDelayMs,
  multiplier: agreement.retry.multiplier,
  maxDelayMs: agreement.retry.maxDelayMs,
  jitter: (agreement.retry.jitter as string) === 'none' ? 'none' : 'full',
  random: Math.random,
});

/** Delay before retry number `retry` (1 = the first retry): min(max, initial·multiplier^(retry-1)), jittered. */
export function backoffDelayMs(retry: number, o: BackoffOptions): number {
  const ceiling = Math.min(o.maxDelayMs, o.initialDelayMs * o.multiplier ** Math.max(0, retry - 1));
  return o.jitter === 'full' ? Math.floor(o.random() * ceiling) : ceiling;
}
