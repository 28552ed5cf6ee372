#!/usr/bin/env node
// Top frames of a `perf record -g` profile of a Node process, by CPU time.
//
// V8's own profiler (--cpu-prof, `npm run bench -- --profile`) samples on a timer: a thread that
// is preempted or waits inside a system call is counted as busy there, so on a loaded machine the
// socket writes looked like a quarter of the service's time. perf's cpu-clock event counts only
// time on a CPU, the kernel's included. Each sample is given to the innermost JavaScript frame of
// its stack: what a function costs with the builtins, runtime calls and system calls it makes.
// Frames of the service's bundle are mapped back to the sources through its source map.
//
// Record (the process started with --perf-basic-prof-only-functions, so perf can name JIT code):
//   perf record -e cpu-clock -F 2000 -g -p <pid> -o /tmp/svc.perf -- sleep 5
//   perf script -i /tmp/svc.perf | node bench/perf-top.ts [--limit 30] [--thread MainThread]
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { area, original } from './lib/profile.ts';

const { values } = parseArgs({ options: { limit: { type: 'string', default: '30' }, thread: { type: 'string', default: 'MainThread' } } });
const ROOT = new URL('..', import.meta.url).pathname;

/**
 * `JS:*'name file:///path/x.mjs:LINE:COL+0x1f (...)` (ES modules), `JS:*'name /path/x.js:LINE:COL` (CommonJS,
 * such as undici outside a bundle) or `JS:~name node:internal/x:LINE:COL`, as perf names JIT code.
 */
const JS_FRAME = /\sJS:[*~^+]?'?(\S*) (file:\/\/\/\S+?|node:\S+?|\/\S+?):(\d+):(\d+)/;

function frameOf(line: string): { name: string; where: string } | undefined {
  const m = JS_FRAME.exec(line);
  if (m === null) return undefined;
  const [, fn, url, lineNo, col] = m as unknown as [string, string, string, string, string];
  const at = original({ url, lineNumber: Number(lineNo) - 1, columnNumber: Number(col) - 1 });
  const where = url.startsWith('node:') ? url : relative(ROOT, at.file);
  return { name: `${fn || '(anonymous)'} (${where}${url.startsWith('node:') ? '' : `:${at.line + 1}`})`, where };
}

let input = '';
for await (const chunk of process.stdin) input += chunk;

const byFrame = new Map<string, number>();
const byArea = new Map<string, number>();
let samples = 0;
let kernel = 0;
for (const sample of input.split('\n\n')) {
  const lines = sample.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2 || !lines[0]!.startsWith(values.thread)) continue;
  samples++;
  if (lines[1]!.includes('[kernel.kallsyms]')) kernel++;
  let owner: { name: string; where: string } | undefined;
  for (const line of lines.slice(1)) {
    owner = frameOf(line);
    if (owner !== undefined) break;
  }
  const name = owner?.name ?? (lines.some((l) => /Scavenge|MarkCompact|GarbageCollect/.test(l)) ? '(garbage collector, outside JavaScript)' : '(event loop and other native code, outside JavaScript)');
  const group = owner === undefined ? name : area(owner.where, owner.name);
  byFrame.set(name, (byFrame.get(name) ?? 0) + 1);
  byArea.set(group, (byArea.get(group) ?? 0) + 1);
}
if (samples === 0) throw new Error(`no samples of thread ${values.thread} on stdin (perf script output expected)`);

const table = (m: Map<string, number>, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((100 * v) / samples).toFixed(1).padStart(5)} %  ${k}`).join('\n');
console.log(`${samples} samples of ${values.thread}; ${((100 * kernel) / samples).toFixed(1)} % of them in the kernel`);
console.log(`\nBy innermost JavaScript frame (natives and system calls below it included):\n${table(byFrame, Number(values.limit))}`);
console.log(`\nBy area:\n${table(byArea, 20)}`);
