// The client as a consumer gets it, against the REAL service: build into a staging copy, `npm pack`,
// install the tarball into a fresh project outside the workspace, type-check a TypeScript program
// that uses it with the resilience wrapper, and run it against the inference service (startStack).
// And `nx release`: its dry run plans exactly the contract's info.version.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TEST_KEY, type Stack } from '../../../apps/inference-service/src/testing/stack.ts';

const pkg = resolve(import.meta.dirname, '..');
const root = resolve(pkg, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const contractVersion = (parse(readFileSync(join(root, 'contracts/openapi.yaml'), 'utf8')) as { info: { version: string } }).info.version;
const temp = mkdtempSync(join(tmpdir(), 'client-release-'));
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ scenario: { rules: [{ model: 'gpt-4o', kind: 'outage' }] } });
});
afterAll(async () => {
  await stack?.close();
  rmSync(temp, { recursive: true, force: true });
});

const CONSUMER_PROGRAM = `import { createLlmClient, withResilience, isLlmApiError, AuthenticationError } from '@llmgw/client';
import type { ChatCompletion, ResilientLlmClient } from '@llmgw/client';

const [baseUrl, apiKey] = process.argv.slice(2) as [string, string];
const retries: number[] = [];
const client: ResilientLlmClient = withResilience(createLlmClient({ baseUrl, apiKey }), { onRetry: (r) => retries.push(r.attempt) });

const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How do I reset my password?' }] });
if (plain.object !== 'chat.completion') throw new Error('expected an answer, got a job');
const { data, meta } = await client.chat.completions
  .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Is the store open on Sunday?' }] })
  .withResponse();
const fallback = data as ChatCompletion;
let streamed = '';
for await (const chunk of await client.chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me about your opening hours.' }] })) {
  streamed += chunk.choices[0]?.delta.content ?? '';
}
const wrongKey = withResilience(createLlmClient({ baseUrl, apiKey: 'sk-wrong' }));
const status = await wrongKey.models.list().then(
  () => 0,
  (e: unknown) => (isLlmApiError(e) && e instanceof AuthenticationError ? e.status ?? -1 : -2),
);
// @ts-expect-error: the contract's request needs messages
const typeGuard: Parameters<typeof client.chat.completions.create>[0] = { model: 'gpt-4o-mini' };
void typeGuard;
console.log(JSON.stringify({
  plain: typeof plain.choices[0]?.message.content,
  fallbackModel: fallback.model,
  fallbackStrategy: meta.fallback,
  degraded: fallback.fallback?.degraded,
  streamedText: streamed.length > 20,
  unauthorized: status,
  retries: retries.length,
  breaker: client.breakerState('gpt-4o-mini').state,
}));
`;

describe('@llmgw/client installed from its tarball', () => {
  it('type-checks and runs with the resilience wrapper against the real service', { timeout: 180_000 }, async () => {
    // Build into a staging copy (not packages/client/dist, which the tarball test builds at the same time).
    const stage = join(temp, 'stage');
    mkdirSync(stage);
    cpSync(join(pkg, 'package.json'), join(stage, 'package.json'));
    cpSync(join(pkg, 'README.md'), join(stage, 'README.md'));
    execFileSync(bin('tsc'), ['-p', join(pkg, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { stdio: 'pipe' });
    execFileSync('npm', ['pack', '--pack-destination', temp, '--silent'], { cwd: stage, stdio: 'pipe' });
    const tarball = readdirSync(temp).find((f) => f.endsWith('.tgz'))!;
    expect(tarball).toBe(`llmgw-client-${contractVersion}.tgz`);

    const app = join(temp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'release-consumer', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(temp, tarball)], { cwd: app, stdio: 'pipe' });
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/@llmgw/client/package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(contractVersion);
    // Nothing of the workspace leaks in: no TypeScript sources, only dist.
    expect(readdirSync(join(app, 'node_modules/@llmgw/client')).sort()).toEqual(['README.md', 'dist', 'package.json']);
    mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(root, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'), 'dir');

    writeFileSync(join(app, 'main.ts'), CONSUMER_PROGRAM);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], lib: ['ES2023', 'DOM'], skipLibCheck: false } }),
    );
    execFileSync(bin('tsc'), ['-p', app], { stdio: 'pipe' });

    const { stdout } = await promisify(execFile)(bin('node'), [join(app, 'main.ts'), stack.url, TEST_KEY], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({
      plain: 'string',
      fallbackModel: 'gpt-4o-mini', // gpt-4o is down: its alternative model answered
      fallbackStrategy: 'alternative_model',
      degraded: false,
      streamedText: true,
      unauthorized: 401,
      retries: 0, // the service failed over itself; 401 is never retried
      breaker: 'closed',
    });
  });

  it('fails to type-check a consumer that misuses it', { timeout: 60_000 }, () => {
    const app = join(temp, 'app');
    writeFileSync(join(app, 'bad.ts'), `import { withResilience } from '@llmgw/client';\nwithResilience({} as never, { maxAttempts: 'three' });\n`);
    writeFileSync(join(app, 'tsconfig.bad.json'), JSON.stringify({ extends: './tsconfig.json', files: ['bad.ts'] }));
    let output = '';
    try {
      execFileSync(bin('tsc'), ['-p', join(app, 'tsconfig.bad.json')], { stdio: 'pipe' });
    } catch (e) {
      output = String((e as { stdout?: Buffer }).stdout);
    }
    expect(output).toContain("Type 'string' is not assignable to type 'number'");
  });
});

describe('nx release', () => {
  it('plans the contract info.version for @llmgw/client in its dry run', { timeout: 120_000 }, async () => {
    const { stdout: out, stderr: err } = await promisify(execFile)('npm', ['run', '--silent', 'release:dry-run'], {
      cwd: root,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    const stdout = stripVTControlCharacters(`${out}\n${err}`);
    const planned = /@llmgw\/client Version (\S+) from contracts\/openapi\.yaml info\.version/.exec(stdout)?.[1];
    expect(planned, stdout).toBe(contractVersion);
    expect(stdout).toContain('Skipped publishing packages.');
    expect(stdout).toContain('No files would be changed'); // package.json is already at the contract's version
    expect(stdout).toContain('"dryRun" flag means no changes were made');
    // clientgen keeps package.json at the contract's version, so nothing needs writing.
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version).toBe(contractVersion);
  });
});
