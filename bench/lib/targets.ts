// Starts the four targets: the simulator (the floor, measured directly), the bare
// proxy, Portkey and the inference service, all on Node 24 and 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnTarget, type Child } from './procs.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BENCH = join(ROOT, 'bench');
/** Node 24 from the workspace (the system node may be older). */
export const NODE = join(ROOT, 'node_modules/.bin/node');
const PORTKEY_DIR = join(BENCH, 'portkey');
const PORTKEY_ENTRY = 'node_modules/@portkey-ai/gateway/build/start-server.js';
/** The routes file's placeholder origin, replaced by the simulator's real one. */
const ROUTES_PLACEHOLDER = 'http://127.0.0.1:18181';
const PORTKEY_INSTALL_TIMEOUT_MS = 180_000;

export async function startSimulator(): Promise<Child> {
  const port = await freePort();
  return spawnTarget({
    name: 'simulator',
    command: NODE,
    args: ['--conditions=source', join(ROOT, 'packages/simulator/src/main.ts'), '--port', String(port)],
    cwd: ROOT,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/v1/models',
  });
}

export async function startBareProxy(simulatorUrl: string): Promise<Child> {
  const port = await freePort();
  return spawnTarget({
    name: 'bare-proxy',
    command: NODE,
    args: [join(BENCH, 'bare-proxy.ts'), '--upstream', simulatorUrl, '--port', String(port)],
    cwd: ROOT,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/v1/models',
  });
}

export interface ServiceStart {
  simulatorUrl: string;
  /** Directory for a V8 CPU profile (`--cpu-prof`), written when the service stops. */
  cpuProfDir?: string;
}

export async function startService(options: ServiceStart): Promise<Child> {
  const port = await freePort();
  const routes = readFileSync(join(BENCH, 'routes.bench.yaml'), 'utf8').replaceAll(ROUTES_PLACEHOLDER, options.simulatorUrl);
  const dir = join(tmpdir(), `llmgw-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const routesFile = join(dir, 'routes.bench.yaml');
  writeFileSync(routesFile, routes);
  const prof = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  // No OTEL_* variables: tracing API calls are made, no SDK records or exports spans.
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('OTEL_') || name.startsWith('LLM_')) delete env[name];
  // As a user runs it (npm start), with the contract's limits raised by configuration so a
  // load test measures the service, not its 429s: auth, validation, rate limiting, budget,
  // metrics, tracing API calls and info logs all stay on.
  Object.assign(env, {
    PORT: String(port),
    LLM_ROUTES_FILE: routesFile,
    LLM_REQUESTS_PER_MINUTE: '1000000000',
    LLM_TOKENS_PER_MINUTE: '1000000000000',
    LLM_TOKEN_BUDGET: '1000000000000000',
  });
  const start = startCommand();
  Object.assign(env, start.env);
  execFileSync(NODE, start.build, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return spawnTarget({
    name: 'service',
    command: NODE,
    args: [...prof, ...start.run],
    cwd: ROOT,
    env,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/healthz',
  });
}

/**
 * The service's build and run commands, read from the root package.json's `start`
 * script (`node <build script> && exec [env NAME=value...] node <flags> <bundle>`), so the
 * benchmark runs the service with exactly the environment, flags and entry point `npm start` uses.
 */
export function startCommand(): { build: string[]; run: string[]; env: Record<string, string> } {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
  // `exec` makes the shell hand its process to node (signals from npm reach the service).
  const steps = script.split('&&').map((step) => step.trim().replace(/^exec\s+/, '').split(/\s+/));
  const [build, run] = steps;
  const env: Record<string, string> = {};
  if (run?.[0] === 'env') {
    run.shift();
    while (run[0] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*=/.test(run[0])) {
      const assignment = run.shift()!;
      const eq = assignment.indexOf('=');
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  if (steps.length !== 2 || build?.[0] !== 'node' || run?.[0] !== 'node') {
    throw new Error(`bench: the root start script is not 'node <build> && exec [env NAME=value...] node <flags> <entry>' any more: ${script}`);
  }
  return { build: build.slice(1), run: run.slice(1), env };
}

/** Installs Portkey from its lock file when missing; returns why it cannot run, or undefined. */
export function ensurePortkey(log: (line: string) => void): string | undefined {
  if (existsSync(join(PORTKEY_DIR, PORTKEY_ENTRY))) return undefined;
  log('installing @portkey-ai/gateway into bench/portkey (npm ci, own lock file)...');
  try {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', PORTKEY_DIR], {
      cwd: PORTKEY_DIR,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: PORTKEY_INSTALL_TIMEOUT_MS,
      env: { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
    });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    return `npm ci in bench/portkey failed (offline?): ${stderr || (error as Error).message}`;
  }
  return existsSync(join(PORTKEY_DIR, PORTKEY_ENTRY)) ? undefined : 'npm ci finished but the gateway entry point is missing';
}

export async function startPortkey(): Promise<Child> {
  const port = await freePort();
  return spawnTarget({
    name: 'portkey',
    command: NODE,
    args: [PORTKEY_ENTRY, `--port=${port}`, '--headless'],
    cwd: PORTKEY_DIR,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/',
  });
}
