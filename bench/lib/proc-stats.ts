// CPU time and resident memory of a process, from /proc (Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times (usually 100). */
export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime in ms from the text of a /proc stat file (a process's or a thread's). */
function statCpuMs(stat: string): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

/** utime + stime of `pid` in ms, all its threads, living and exited (resolution 1000 / CLOCK_TICKS ms). */
export function cpuMs(pid: number): number {
  return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * CPU of `pid`'s main thread (the event loop: JavaScript, and the garbage collector's
 * work on that thread) and of its other living threads (V8's workers: parallel and
 * concurrent GC, background compilation; libuv's pool: file writes such as logs), in ms.
 */
export function threadCpuMs(pid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread exited between the listing and the read
    }
    if (Number(tid) === pid) main += statCpuMs(stat);
    else other += statCpuMs(stat);
  }
  return { main, other };
}

/** Resident memory of `pid` in MB: the total (VmRSS), and its anonymous and file-backed parts. */
export function rss(pid: number): { totalMb: number; anonMb: number; fileMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  };
  return { totalMb: kb('VmRSS'), anonMb: kb('RssAnon'), fileMb: kb('RssFile') };
}
