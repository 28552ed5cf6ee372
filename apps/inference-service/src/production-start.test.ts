import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validators } from '@llmgw/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm start` as the README gives it: bundle the service (scripts/bundle.ts), then run
// dist/main.mjs with the embedded simulator. This is the only test that runs the bundle,
// so it checks what the bundle could lose: files read at run time (the routes schema,
// the docs assets), CommonJS dependencies, the Redis stores kept out of the start-up
// path (a lazily loaded chunk), and the graceful stop.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUNDLE = `${ROOT}apps/inference-service/dist/main.mjs`;
const ROUTES = fileURLToPath(new URL('../examples/simulator.routes.yaml', import.meta.url));
const KEY = 'sk-local-dev';

let child: ChildProcess;
let url: string;
const output: string[] = [];

beforeAll(async () => {
  child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LLM_API_KEYS: undefined, LLM_ROUTES_FILE: undefined, REDIS_URL: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.setEncoding('utf8').on('data', (s: string) => output.push(s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => output.push(s));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not listen within 30 s:\n${output.join('')}`)), 30_000);
    const look = () => {
      const line = output.join('').split('\n').find((l) => l.includes('"inference service listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.join('')}`)));
  });
}, 60_000);

afterAll(() => {
  // The whole group: npm, and the service should it have outlived npm.
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
});

describe('npm start (the production bundle)', () => {
  it('built dist/main.mjs with its source map, and left ioredis and BullMQ out of the start-up path', () => {
    expect(existsSync(BUNDLE)).toBe(true);
    const main = readFileSync(BUNDLE, 'utf8');
    expect(main).toMatch(/\/\/# sourceMappingURL=main\.mjs\.map\s*$/);
    // Static imports are evaluated at load (main.mjs and the chunks it imports statically):
    // the Redis stores must only be reached through import().
    // (The bundle is whitespace-minified: statements share lines, `import{a}from"./x.mjs";`.)
    const staticImports = (code: string) => [...code.matchAll(/(?<=^|;)import\s*(?:[^;"()]*?from\s*)?"([^"]+)";/gm)].map((m) => m[1]!);
    const loaded = [main, ...staticImports(main).filter((s) => s.startsWith('./chunks/')).map((s) => readFileSync(new URL(s, `file://${BUNDLE}`), 'utf8'))];
    expect(loaded.length).toBeGreaterThan(1);
    expect(loaded.flatMap(staticImports).filter((s) => s === 'ioredis' || s === 'bullmq')).toEqual([]);
    expect(main).toMatch(/import\("\.\/chunks\/redis-[A-Z0-9]+\.mjs"\)/);
    // ASCII only, so V8 keeps the source (resident for the life of the process) at one byte a character.
    expect(loaded.filter((code) => /[^\x00-\x7f]/.test(code))).toEqual([]);
  });

  it('answers a chat completion from the embedded simulator in the contract shape', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How do I reset my password?' }] }),
    });
    expect(res.status).toBe(200);
    const body: unknown = await res.json();
    expect(validators.ChatCompletion(body), JSON.stringify(validators.ChatCompletion.errors)).toBe(true);
  });

  it('streams, rejects a bad key with the error envelope, and serves the docs and metrics', async () => {
    const stream = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Tell me about your opening hours.' }] }),
    });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await stream.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);

    const denied = await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-wrong' } });
    expect(denied.status).toBe(401);
    expect(validators.ErrorResponse(await denied.json())).toBe(true);

    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    const assets = [...(await docs.text()).matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect((await fetch(new URL(asset, `${url}/docs/`))).status, asset).toBe(200);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^llm_requests_total\{model="gpt-4o-mini",status="200"\} [12]$/m);
  });

  it('checks a routes file at start with the schema it carries, naming the problem', async () => {
    const invalid = join(mkdtempSync(join(tmpdir(), 'llmgw-routes-')), 'routes.yaml');
    writeFileSync(invalid, 'upstreams:\n  sim: { kind: telepathy, baseUrl: http://127.0.0.1:1/v1 }\n');
    const bad = spawn(process.execPath, [BUNDLE, '--routes', invalid], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    bad.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const [code] = (await once(bad, 'exit')) as [number];
    expect(code).toBe(1);
    expect(stderr).toMatch(/\/upstreams\/sim\/kind/);

    const good = spawn(process.execPath, [BUNDLE, '--routes', ROUTES], { cwd: ROOT, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    good.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    good.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
    await expect.poll(() => out, { timeout: 15_000 }).toMatch(/inference service listening/);
    good.kill('SIGTERM');
    const [goodCode] = (await once(good, 'exit')) as [number];
    expect(goodCode, out).toBe(0);
  });

  it('says in one line that the port is taken, and exits 1', async () => {
    const port = new URL(url).port;
    const second = spawn(process.execPath, [BUNDLE, '--routes', ROUTES, '--port', port], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    second.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const [code] = (await once(second, 'exit')) as [number];
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`inference-service: 127.0.0.1:${port} is already in use (set PORT or --port)`);
  });

  it('stops gracefully when a process manager sends SIGTERM to npm alone', async () => {
    // stdout closes once every process holding it has exited: npm and the service
    // (`exec` in the start script makes the service npm's own child, so npm's signal reaches it).
    const closed = once(child.stdout!, 'close');
    process.kill(child.pid!, 'SIGTERM');
    await closed;
    expect(output.join('')).toMatch(/"msg":"stopped"/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('bundles into a --outdir given relative to the working directory, keeping every chunk it wrote', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bundle-'));
    const run = spawnSync(process.execPath, [`${ROOT}apps/inference-service/scripts/bundle.ts`, '--outdir', 'out'], { cwd, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const main = readFileSync(join(cwd, 'out/main.mjs'), 'utf8');
    const chunks = [...main.matchAll(/"\.\/chunks\/([^"]+\.mjs)"/g)].map((m) => m[1]!);
    expect(chunks.length).toBeGreaterThan(1);
    const written = readdirSync(join(cwd, 'out/chunks'));
    expect(chunks.filter((c) => !written.includes(c))).toEqual([]);
  }, 60_000);

  it('says which Node it needs when started on an older one, before any bundled code runs', () => {
    /** The check's line among a file's first three (the shebang, the require shim, the check). */
    const guardOf = (code: string) => code.split('\n').slice(0, 3).find((line) => line.includes('or newer is required'));
    const files = [BUNDLE, ...readdirSync(`${ROOT}apps/inference-service/dist/chunks`).filter((f) => f.endsWith('.mjs')).map((f) => `${ROOT}apps/inference-service/dist/chunks/${f}`)];
    // Every file of the bundle carries it before its own code: whichever evaluates first stops the process.
    for (const file of files) expect(guardOf(readFileSync(file, 'utf8')) !== undefined, file).toBe(true);
    const guard = guardOf(readFileSync(BUNDLE, 'utf8'))!;
    const run = (node: string) => {
      const seen: { exit?: number; stderr: string } = { stderr: '' };
      const fake = { versions: { node }, version: `v${node}`, stderr: { write: (s: string) => (seen.stderr += s) }, exit: (code: number) => (seen.exit = code) };
      new Function('process', guard)(fake);
      return seen;
    };
    expect(run('20.20.2')).toEqual({ exit: 1, stderr: expect.stringContaining('Node.js 24 or newer is required, this is v20.20.2') });
    expect(run('24.11.0')).toEqual({ stderr: '' });
    expect(run('25.0.0')).toEqual({ stderr: '' });
  });

  // The machine's own node, when it is older (Debian's is 20 here): the real thing, not the guard alone.
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
  const systemMajor = systemNode ? Number(spawnSync(systemNode, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim()) : Number.NaN;
  it.skipIf(!(systemMajor < 24))(`stops with that message on the machine's older node (${systemNode ?? 'none'})`, () => {
    const run = spawnSync(systemNode!, [BUNDLE], { encoding: 'utf8', env: { ...process.env, PORT: '0' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('inference-service: Node.js 24 or newer is required');
  });
});
