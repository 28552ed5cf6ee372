import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = resolve(import.meta.dirname, '..');
const root = resolve(pkg, '../..');
const tsc = join(root, 'node_modules/.bin/tsc');
const node = join(root, 'node_modules/.bin/node');
const temp = mkdtempSync(join(tmpdir(), 'client-axios-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const listTree = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();

describe('@llmgw/client-axios (openapi-generator typescript-axios)', () => {
  it('regenerates byte-for-byte from the contract', () => {
    const copy = join(temp, 'regen');
    cpSync(join(pkg, 'openapitools.json'), join(copy, 'openapitools.json'), { recursive: true });
    execFileSync(node, [join(root, 'tools/clientgen/src/axios/main.ts'), '--package', copy], { stdio: 'pipe' });
    for (const dir of ['src/generated', 'contract']) {
      const want = listTree(join(pkg, dir));
      expect(listTree(join(copy, dir))).toEqual(want);
      for (const f of want) expect(readFileSync(join(copy, dir, f), 'utf8'), f).toBe(readFileSync(join(pkg, dir, f), 'utf8'));
    }
  });

  it('compiles with tsc and talks to a real HTTP server', async () => {
    // Inside the package so Node finds axios in the workspace node_modules.
    const out = join(pkg, 'dist', `test-${process.pid}`);
    execFileSync(tsc, ['-p', join(pkg, 'tsconfig.build.json'), '--outDir', out], { stdio: 'pipe' });
    const seen: { method?: string; url?: string; auth?: string; body?: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        const send = (status: number, payload: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-1' }).end(JSON.stringify(payload));
        };
        if (req.url === '/healthz') return send(200, { status: 'ok' });
        if (req.url === '/readyz') return send(200, { status: 'ready', checks: [{ name: 'upstream:gpt-4o-mini', status: 'pass' }] });
        if (req.url === '/v1/models') return send(200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'sim' }] });
        if (req.url === '/v1/chat/completions') {
          return send(200, {
            id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
            choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          });
        }
        send(404, { error: { code: 'job_not_found', message: 'no such job', type: 'not_found_error', param: null } });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const compiled = createRequire(import.meta.url)(join(out, 'index.js')) as typeof import('./index.ts');
      const results = await compiled.checkService({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'sk-test' });
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.map((r) => r.name)).toEqual(['getHealth', 'getReadiness', 'listModels', 'createChatCompletion', 'getJob (unknown id → 404)']);
      const chat = seen.find((s) => s.url === '/v1/chat/completions')!;
      expect(chat.method).toBe('POST');
      expect(chat.auth).toBe('Bearer sk-test');
      expect(JSON.parse(chat.body!)).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    } finally {
      server.close();
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('loses what the strict type test of @llmgw/client checks (README: why both generators)', () => {
    // Each line is valid against the contract; the generator's types reject or mis-type them.
    const probe = join(pkg, 'src', `probe-${process.pid}.ts`);
    writeFileSync(
      probe,
      `import type { ChatCompletion, ModelId, ChatApi } from './generated';
const literal: ChatCompletion['object'] = 'chat.completion'; // const became a one-member enum
type Body = Parameters<ChatApi['createChatCompletion']>[0];
const modelIsTyped: Body['model'] extends string ? true : false = true; // request body is an untyped map
const openEnum: ModelId = 42; // open model enum became an empty interface: anything goes
type Ret = Awaited<ReturnType<ChatApi['createChatCompletion']>>['data'];
const accepted: Ret extends { status: 'queued' } ? true : false = true; // 202 JobAccepted is not in the return type
export { literal, modelIsTyped, openEnum, accepted };
`,
    );
    try {
      const run = spawnSync(tsc, ['--noEmit', '-p', join(pkg, 'tsconfig.json')], { encoding: 'utf8' });
      const errors = run.stdout.split('\n').filter((l) => l.includes('probe-'));
      expect(errors.some((l) => l.includes('(2,7)') && l.includes('TS2322'))).toBe(true); // literal rejected
      expect(errors.some((l) => l.includes('(4,7)'))).toBe(true); // body.model not typed
      expect(errors.some((l) => l.includes('(5,7)'))).toBe(false); // 42 accepted as a model: no error
      expect(errors.some((l) => l.includes('(7,7)'))).toBe(true); // no JobAccepted
    } finally {
      rmSync(probe, { force: true });
    }
  });
});
