import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { redocly } from './redocly.ts';

export type Impact = 'major' | 'minor' | 'patch';

export interface ContractChange {
  impact: Impact;
  /** Where in the revision (or base, for removals) the change is. */
  pointer: string;
  message: string;
  ruleId: string;
}

export interface BreakingReport {
  ok: boolean;
  baseVersion: string;
  revisionVersion: string;
  majorBumped: boolean;
  changes: ContractChange[];
  breaking: ContractChange[];
  summary: string;
}

interface DiffJson {
  changes?: {
    path?: string;
    impact?: Impact;
    verdicts?: { ruleId?: string; impact?: Impact; message?: string; location?: { pointer?: string } }[];
  }[];
}

const majorOf = (version: string): number => Number(/^v?(\d+)/.exec(version)?.[1] ?? Number.NaN);

/**
 * Compares two contracts with `redocly diff` and fails on any change rated `major` (removed
 * path/operation/response/field, new required request field, narrowed enum, changed type…)
 * unless `info.version`'s major was bumped.
 */
export function checkBreaking(basePath: string, revisionPath: string): BreakingReport {
  const baseVersion = String((parse(readFileSync(basePath, 'utf8')) as { info?: { version?: unknown } }).info?.version ?? '');
  const revisionVersion = String((parse(readFileSync(revisionPath, 'utf8')) as { info?: { version?: unknown } }).info?.version ?? '');
  const dir = mkdtempSync(join(tmpdir(), 'contract-diff-'));
  let report: DiffJson;
  try {
    const out = join(dir, 'diff.json');
    const run = redocly(['diff', basePath, revisionPath, '--format', 'json', '--fail-on', 'none', '-o', out]);
    if (run.status !== 0) throw new Error(`redocly diff failed (${run.status}):\n${run.stdout}${run.stderr}`);
    report = JSON.parse(readFileSync(out, 'utf8')) as DiffJson;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const changes: ContractChange[] = [];
  for (const change of report.changes ?? []) {
    // A change no rule gave a verdict on still has its own impact (an added path, a new field): counted.
    if (!change.verdicts?.length) {
      changes.push({ impact: change.impact ?? 'major', pointer: change.path ?? '', message: 'changed', ruleId: 'redocly' });
      continue;
    }
    for (const v of change.verdicts) {
      changes.push({
        impact: v.impact ?? change.impact ?? 'major',
        pointer: v.location?.pointer ?? change.path ?? '',
        message: v.message ?? '(no message)',
        ruleId: v.ruleId ?? 'unknown',
      });
    }
  }
  const breaking = changes.filter((c) => c.impact === 'major');
  const majorBumped = majorOf(revisionVersion) > majorOf(baseVersion);
  const ok = breaking.length === 0 || majorBumped;
  const lines = changes.map((c) => `  [${c.impact}] ${c.message} (${c.ruleId} at ${c.pointer})`);
  // Compatible changes under the released version number: not a failure (the baseline moves at
  // release), but the next release must not reuse the number (the client's version is the contract's).
  const sameVersion = changes.length > 0 && breaking.length === 0 && revisionVersion === baseVersion;
  if (sameVersion) lines.unshift(`  note: ${changes.length} compatible change(s) since ${baseVersion} under the same info.version: bump its minor (or patch) before releasing`);
  const verdict =
    breaking.length === 0
      ? `no breaking changes (${changes.length} change(s)) between ${baseVersion} and ${revisionVersion}`
      : majorBumped
        ? `${breaking.length} breaking change(s), allowed: major version bumped ${baseVersion} → ${revisionVersion}`
        : `${breaking.length} breaking change(s) without a major version bump (${baseVersion} → ${revisionVersion}): bump info.version's major or keep the change compatible`;
  return { ok, baseVersion, revisionVersion, majorBumped, changes, breaking, summary: [verdict, ...lines].join('\n') };
}
