// Child processes for the targets: each in its own process group so that the
// whole tree (npm, node, workers) dies with the runner, whatever way it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** Longest a target may take to answer its readiness probe. */
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
/** Kept from a child's stderr for error messages. */
const STDERR_TAIL_CHARS = 4000;

export interface Child {
  name: string;
  pid: number;
  url: string;
  /** Last lines of stderr (start-up errors). */
  stderr(): string;
  /** SIGTERM the group, wait up to `graceMs`, then SIGKILL. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Kills every child still running; safe to call from 'exit' (synchronous). */
export function killAll(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
  live.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    killAll();
    process.exit(1);
  });
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string | undefined>;
  url: string;
  /** Path polled with GET until it answers < 500. */
  readyPath: string;
}

export async function spawnTarget(options: SpawnOptions): Promise<Child> {
  hookExit();
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true, // own process group: killed as a whole
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle: Child = {
    name: options.name,
    pid: child.pid ?? -1,
    url: options.url,
    stderr: () => tail,
    async stop(graceMs = 3000) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      live.delete(child);
    },
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${options.name} exited during start-up (code ${child.exitCode ?? child.signalCode}):\n${tail}`);
    }
    try {
      const res = await fetch(options.url + options.readyPath, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status < 500) return handle;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.stop(0);
      throw new Error(`${options.name} not ready after ${READY_TIMEOUT_MS} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
}
