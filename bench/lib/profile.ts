// Top frames of a V8 CPU profile (.cpuprofile from --cpu-prof) by self time.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  /** `function (file:line)`, paths relative to the repository. */
  frame: string;
  selfMs: number;
  /** Share of busy (non-idle) samples, in %. */
  selfPct: number;
}

export function topFrames(file: string, root: string, limit = 25): { totalMs: number; frames: Frame[]; byArea: Frame[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByNode = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
  });
  const byFrame = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, ms] of selfByNode) {
    const cf = byId.get(id)?.callFrame;
    if (!cf) continue;
    const at = original(cf);
    const where = at.file ? relative(root, at.file) : '';
    const name = `${cf.functionName || '(anonymous)'}${where ? ` (${where}:${at.line + 1})` : ''}`;
    byFrame.set(name, (byFrame.get(name) ?? 0) + ms);
    byArea.set(area(where, cf.functionName), (byArea.get(area(where, cf.functionName)) ?? 0) + ms);
  }
  // Shares are of busy time: the profile spans the process's whole life, mostly idle between phases.
  const idle = byFrame.get('(idle)') ?? 0;
  byFrame.delete('(idle)');
  byArea.delete('(idle)');
  const busy = total - idle;
  const rank = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([frame, selfMs]) => ({ frame, selfMs, selfPct: (100 * selfMs) / busy }));
  return { totalMs: busy, frames: rank(byFrame, limit), byArea: rank(byArea, 15) };
}

/** Groups frames by package or workspace folder, so the cost of each part shows. */
export function area(where: string, fn: string): string {
  if (!where) return fn.startsWith('(') ? fn : '(native / V8 builtins)';
  if (where.startsWith('node:')) return where.split(':')[0] + ':' + where.split(':')[1]!.split('/')[0];
  const nm = where.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = where.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const parts = where.split('/');
  return parts.slice(0, parts[0] === 'apps' || parts[0] === 'packages' ? 4 : 2).join('/');
}

const sourceMaps = new Map<string, SourceMap | undefined>();

/**
 * A frame's place in the sources: the service runs as a bundle (dist/main.mjs),
 * so its frames are mapped back through the bundle's source map; other files as they are.
 */
export function original(cf: Pick<ProfileNode['callFrame'], 'url' | 'lineNumber' | 'columnNumber'>): { file: string; line: number } {
  const file = cf.url.replace(/^file:\/\//, '');
  if (!file.endsWith('.mjs')) return { file, line: cf.lineNumber };
  if (!sourceMaps.has(file)) {
    const map = `${file}.map`;
    sourceMaps.set(file, existsSync(map) ? new SourceMap(JSON.parse(readFileSync(map, 'utf8'))) : undefined);
  }
  const entry = sourceMaps.get(file)?.findEntry(cf.lineNumber, cf.columnNumber);
  if (!entry || !('originalSource' in entry)) return { file, line: cf.lineNumber };
  return { file: resolve(dirname(file), entry.originalSource), line: entry.originalLine };
}
