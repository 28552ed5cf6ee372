// `npm test`: the README's test command, also what .ci/run calls.
// 1. makes sure the system tools the tests drive for real are there
//    (.ci/system-deps.sh installs them from Debian when run as root);
// 2. regenerates from the contract (Nx: served from cache when unchanged);
// 3. type-checks the workspace, lints the contract and checks it for
//    breaking changes against the baseline;
// 4. runs every test of the workspace in ONE vitest run, so its closing
//    summary counts them all.
// Extra arguments go to vitest (e.g. `npm test -- apps/inference-service`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const env = {
  ...process.env,
  NX_NO_CLOUD: 'true',
  NX_DAEMON: 'false',
  REDOCLY_TELEMETRY: 'off',
  SCARF_ANALYTICS: 'false',
  PACT_DO_NOT_TRACK: 'true',
  OPTIC_TELEMETRY_LEVEL: 'off',
};

function step(title: string, command: string, args: string[]): void {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`\nnpm test: "${title}" failed (exit ${result.status ?? result.signal}).\n`);
    process.exit(result.status ?? 1);
  }
}

const bin = (name: string) => join(root, 'node_modules/.bin', name);

if (process.env.LLMGW_SKIP_SYSTEM_DEPS !== '1') step('system tools (redis-server, prometheus, chromium, java)', 'bash', [join(root, '.ci/system-deps.sh')]);
step('generate from the contract', bin('nx'), ['run-many', '-t', 'generate', '--outputStyle=static']);
step('type check (strict, the whole workspace)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
if (existsSync(join(root, 'tools/contract-check/src/cli.ts'))) step('contract lint and breaking-change check', process.execPath, [join(root, 'tools/contract-check/src/cli.ts'), 'check']);
step('tests', bin('vitest'), ['run', ...process.argv.slice(2)]);
