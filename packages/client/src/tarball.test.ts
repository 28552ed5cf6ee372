// The published shape: build, `npm pack`, install the tarball into a fresh project outside the
// workspace, type-check a consumer against dist/*.d.ts and run it against a real HTTP server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const pkg = resolve(import.meta.dirname, '..');
const root = resolve(pkg, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const temp = mkdtempSync(join(tmpdir(), 'client-tarball-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

it('installs from its tarball, type-checks for a consumer and answers over HTTP', { timeout: 120_000 }, async () => {
  execFileSync(bin('tsc'), ['-p', join(pkg, 'tsconfig.build.json')], { stdio: 'pipe' });
  execFileSync('npm', ['pack', '--pack-destination', temp, '--silent'], { cwd: pkg, stdio: 'pipe' });
  const tarball = readdirSync(temp).find((f) => f.endsWith('.tgz'))!;
  expect(tarball).toMatch(/^llmgw-client-\d+\.\d+\.\d+\.tgz$/);

  const app = join(temp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(temp, tarball)], { cwd: app, stdio: 'pipe' });
  // Only the client and its runtime dependency come from the tarball install; typescript/@types from the workspace.
  mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
  symlinkSync(join(root, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'), 'dir');

  writeFileSync(
    join(app, 'main.ts'),
    `import { createLlmClient, isLlmApiError, agreement } from '@llmgw/client';
import type { ChatCompletion } from '@llmgw/client';
const client = createLlmClient({ baseUrl: process.argv[2]!, apiKey: 'k' });
const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const object: 'chat.completion' | 'chat.completion.job' = r.object;
const c = r as ChatCompletion;
try { await client.models.list(); } catch (e) { if (isLlmApiError(e)) console.log(JSON.stringify({ object, content: c.choices[0]?.message.content, status: e.status, code: e.code, retries: agreement.retry.maxAttempts })); }
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], lib: ['ES2023', 'DOM'] } }),
  );
  execFileSync(bin('tsc'), ['-p', app], { stdio: 'pipe' });

  const server = createServer((req, res) => {
    if (req.url === '/v1/chat/completions') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
      );
    } else {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'unauthorized', message: 'no', type: 'authentication_error', param: null } }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const out = await new Promise<string>((resolveOut, reject) => {
      import('node:child_process').then(({ execFile }) =>
        execFile(bin('node'), [join(app, 'main.ts'), `http://127.0.0.1:${port}`], { cwd: app }, (err, stdout) => (err ? reject(err) : resolveOut(stdout))),
      );
    });
    expect(JSON.parse(out)).toEqual({ object: 'chat.completion', content: 'hello', status: 401, code: 'unauthorized', retries: 3 });
  } finally {
    server.close();
  }
});
