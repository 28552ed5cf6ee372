import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { extraChanges } from './extra-rules.ts';
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
    base?: { pointer?: string };
    revision?: { pointer?: string };
    verdicts?: { ruleId?: string; impact?: Impact; message?: string; location?: { pointer?: string } }[];
  }[];
}

const majorOf = (version: string): number => Number(/^v?(\d+)/.exec(version)?.[1] ?? Number.NaN);

type Doc = Record<string, unknown> & { info?: { version?: unknown } };

/**
 * Compares two contracts with `redocly diff`, plus our own rules for what it rates patch (stricter
 * security, changed `x-llm-*` extensions, renamed path parameters: extra-rules.ts), and fails on
 * any change rated `major` (removed path/operation/response/field, new required request field,
 * narrowed enum, changed type…) unless `info.version`'s major was bumped.
 */
export function checkBreaking(basePath: string, revisionPath: string): BreakingReport {
  const baseDoc = parse(readFileSync(basePath, 'utf8')) as Doc;
  const revisionDoc = parse(readFileSync(revisionPath, 'utf8')) as Doc;
  const baseVersion = String(baseDoc.info?.version ?? '');
  const revisionVersion = String(revisionDoc.info?.version ?? '');
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
  const extra = extraChanges(baseDoc, revisionDoc);
  const ours = new Set(extra.map((c) => c.pointer));
  const changes: ContractChange[] = [];
  for (const change of report.changes ?? []) {
    // redocly's (lower) rating of a change one of our rules rates is left out: each change is listed once.
    if ((change.impact ?? 'major') !== 'major' && [change.path, change.base?.pointer, change.revision?.pointer].some((p) => p !== undefined && ours.has(p))) continue;
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
  changes.push(...extra);
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
