// Runs Debian's promtool; a missing binary is a clear failure, never a silent skip.
import { execFile, spawnSync } from 'node:child_process';

export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
export const INSTALL_HINT = 'promtool is missing: run `.ci/prometheus.sh` (installs Debian\'s prometheus package, which brings promtool).';

export interface PromtoolResult {
  ok: boolean;
  output: string;
}

/** Throws with the install hint when promtool cannot be run at all. */
export function assertPromtool(): void {
  const r = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${INSTALL_HINT} (${r.error?.message ?? r.stderr})`);
}

/** Runs promtool with `args` (async, so independent checks run side by side); rejects only when it cannot start. */
export function promtool(...args: string[]): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    execFile(PROMTOOL, args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code === 'string') return reject(new Error(`${INSTALL_HINT} (${error.message})`));
      resolve({ ok: !error, output: `${stdout}${stderr}` });
    });
  });
}
