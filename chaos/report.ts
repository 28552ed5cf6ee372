/** The printed table: one row per scenario and mode, then the targets. */
import type { ModeStats } from './evaluate.ts';
import type { ScenarioResult } from './run.ts';
import type { TargetResult } from './targets.ts';

interface Report {
  passed: boolean;
  targets: Array<TargetResult & { scenario: string }>;
  scenarios: ScenarioResult[];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function tableRows(report: Report): string[][] {
  const rows: string[][] = [['scenario', 'mode', 'requests', 'valid', 'degraded', 'failed', 'p50 ms', 'p99 ms', 'attempts/req', 'tokens/req', 'notes']];
  for (const s of report.scenarios) {
    for (const [mode, m] of [['on', s.on], ['off', s.off]] as const) {
      rows.push([s.name, mode, String(m.requests), pct(m.valid), pct(m.degraded), pct(m.failed), String(m.p50Ms), String(m.p99Ms), String(m.attemptsPerRequest), String(m.tokensPerRequest), notes(m)]);
    }
  }
  return rows;
}

function notes(m: ModeStats): string {
  const n: string[] = [];
  if (m.truncatedAsComplete) n.push(`${m.truncatedAsComplete} truncated-as-complete`);
  if (m.primaryShareTail !== undefined) n.push(`primary share in tail ${pct(m.primaryShareTail)}${m.primaryBackAfterMs !== undefined ? `, back ${m.primaryBackAfterMs} ms after recovery` : ', never back'}`);
  if (m.runaway) n.push(`key B: ${m.runaway.requests} req, ${m.runaway.budgetExceeded} cut off (429), ${m.runaway.tokens} tokens`);
  return n.join('; ');
}

export function printReport(report: Report, smoke: boolean): void {
  const rows = tableRows(report);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const r of rows) console.log(r.map((c, i) => (i < 2 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  console.log(`\nTargets${smoke ? ' (smoke run: printed, not enforced)' : ''}:`);
  for (const t of report.targets) console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.scenario}: ${t.name}  (${t.check})`);
  console.log(report.passed ? '\nall targets PASS' : '\nsome targets FAIL');
}

/** The same table as Markdown (for chaos/README.md). */
export function markdownTable(report: Report): string {
  const rows = tableRows(report);
  return [rows[0]!, rows[0]!.map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
