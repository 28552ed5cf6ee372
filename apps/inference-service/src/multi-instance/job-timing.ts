// Shared by jobs.test.ts and worker-process.ts: timing that makes a dead
// worker's job come back within about a second.
import type { Agreement } from '@llmgw/contract';
import { fastAgreement } from '../testing/stack.ts';

/** A lock that expires 600 ms after its worker dies, and workers that look for such jobs every 300 ms. */
export const WORKER_TIMING = { lockDurationMs: 600, stalledIntervalMs: 300, maxStalledCount: 1, closeGraceMs: 500 };

/** The fast test agreement, but an upstream may take seconds (the job must be mid-flight when its worker dies). */
export function slowAgreement(): Agreement {
  return fastAgreement((a) => {
    a.defaults.timeouts = { connectMs: 500, firstTokenMs: 20_000, streamIdleMs: 20_000, totalMs: 30_000 };
    for (const m of Object.values(a.models)) m.timeouts = { totalMs: 30_000, firstTokenMs: 20_000 };
  });
}
