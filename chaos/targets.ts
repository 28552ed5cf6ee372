/**
 * The targets from issue 13, plus two that make the recovery and runaway
 * scenarios checkable. Each says what it measured and the bound.
 */
import type { ModeStats } from './evaluate.ts';
import type { ChaosScenario } from './scenarios.ts';
import { SLA_TOTAL_MS } from './stack.ts';

export interface TargetResult {
  name: string;
  /** e.g. "0.9995 >= 0.999" */
  check: string;
  pass: boolean;
}

export const ANSWERED_MIN = 0.999;
export const ATTEMPTS_PER_REQUEST_MAX = 1.2;
export const PRIMARY_SHARE_TAIL_MIN = 0.9;
export const RUNAWAY_OTHER_KEY_VALID_MIN = 0.99;

export function evaluateTargets(s: ChaosScenario, r: { on: ModeStats; off: ModeStats }): TargetResult[] {
  const t: TargetResult[] = [];
  const { on, off } = r;
  if (s.primaryDown) {
    const answered = round4(on.valid + on.degraded);
    t.push({ name: 'answered (valid or degraded) >= 99.9 %', check: `${answered} >= ${ANSWERED_MIN}`, pass: answered >= ANSWERED_MIN });
    t.push({ name: 'p99 within the SLA timeout', check: `${on.p99Ms} ms <= ${SLA_TOTAL_MS} ms`, pass: on.p99Ms <= SLA_TOTAL_MS });
  }
  if (s.sustainedOutage) {
    t.push({ name: 'upstream attempts per request <= 1.2', check: `${on.attemptsPerRequest} <= ${ATTEMPTS_PER_REQUEST_MAX}`, pass: on.attemptsPerRequest <= ATTEMPTS_PER_REQUEST_MAX });
  }
  if (s.request === 'stream') {
    const n = on.truncatedAsComplete + off.truncatedAsComplete;
    t.push({ name: 'no truncated stream reported complete (on+off)', check: `${on.truncatedAsComplete}+${off.truncatedAsComplete} == 0`, pass: n === 0 });
  }
  if (s.recovery) {
    const share = on.primaryShareTail ?? 0;
    t.push({ name: 'traffic returns to the primary (tail share >= 90 %)', check: `${share} >= ${PRIMARY_SHARE_TAIL_MIN}`, pass: share >= PRIMARY_SHARE_TAIL_MIN });
  }
  if (s.runaway) {
    const cut = on.runaway?.budgetExceeded ?? 0;
    t.push({ name: 'runaway key cut off with 429 token_budget_exceeded', check: `${cut} > 0`, pass: cut > 0 });
    t.push({ name: 'other key keeps working (valid >= 99 %)', check: `${on.valid} >= ${RUNAWAY_OTHER_KEY_VALID_MIN}`, pass: on.valid >= RUNAWAY_OTHER_KEY_VALID_MIN });
  }
  return t;
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
