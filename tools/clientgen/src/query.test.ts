import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAxiosClient } from './axios/generate.ts';
import { generateClient } from './generate.ts';

const root = resolve(import.meta.dirname, '../../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const temp = mkdtempSync(join(tmpdir(), 'clientgen-query-'));
// Generated code in `temp` imports openapi-fetch / axios: resolve them from the workspace.
symlinkSync(join(root, 'node_modules'), join(temp, 'node_modules'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

type Parameter = Record<string, unknown>;
const STATUS = { type: 'array', items: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed'] } };

/** The contract plus `GET /v1/jobs` with query parameters (`extra` appended to them); returns its path. */
function fixtureContract(name: string, extra: Parameter[] = []): string {
  const doc = parse(readFileSync(join(root, 'contracts/openapi.yaml'), 'utf8'));
  doc.paths['/v1/jobs'] = {
    get: {
      operationId: 'listJobs',
      parameters: [
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
        { name: 'after', in: 'query', schema: { type: 'string' } },
        { name: 'status', in: 'query', schema: STATUS },
        { name: 'include_result', in: 'query', schema: { type: 'boolean' } },
        { name: 'order', in: 'query', required: true, schema: { type: 'string', enum: ['asc', 'desc'] } },
        ...extra,
      ],
      responses: { '200': { description: 'A page.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelList' } } } } },
    },
  };
  const path = join(temp, `${name}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

/** A package folder to generate into: ESM like packages/client (client-axios is CommonJS: no `type`). */
function packageDir(name: string, type?: 'module'): string {
  const dir = join(temp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '0.0.0', type }));
  return dir;
}

/** tsc over `dir` (extends the workspace's base config); returns its error lines. */
function typeErrors(dir: string, compilerOptions: Record<string, unknown> = {}): string[] {
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(root, 'tsconfig.base.json'), compilerOptions: { noEmit: true, ...compilerOptions }, include: ['src'] }));
  const run = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  return run.stdout.split('\n').filter((line) => line.includes('error TS'));
}

describe('query parameters: generation refuses what the clients would send differently from the stubs', () => {
  it.each([
    ['style pipeDelimited', { name: 'tags', in: 'query', style: 'pipeDelimited', schema: STATUS }, 'GET /v1/jobs: query parameter tags has style "pipeDelimited"; only style: form (the default) is supported'],
    ['explode: false', { name: 'tags', in: 'query', explode: false, schema: STATUS }, 'GET /v1/jobs: array query parameter tags has explode: false; only repeated keys (explode: true, the default) are supported'],
    ['required-but-empty array', { name: 'tags', in: 'query', required: true, schema: STATUS }, 'GET /v1/jobs: array query parameter tags is required but may be empty: an empty array is sent as no parameter at all, which the stub refuses (give it minItems: 1)'],
    ['an object (openapi-fetch would send deepObject)', { name: 'filter', in: 'query', schema: { type: 'object' } }, 'GET /v1/jobs (filter): query parameters must be integer, number, boolean, string or an array of one of those with a single `type` (got type "object")'],
    ['content instead of schema', { name: 'filter', in: 'query', content: { 'application/json': { schema: { type: 'object' } } } }, 'GET /v1/jobs: query parameter filter needs a `schema` (`content` is not supported)'],
    ['a cookie parameter', { name: 'session', in: 'cookie', schema: { type: 'string' } }, 'GET /v1/jobs: cookie parameter session is not supported (openapi-fetch does not send cookie parameters)'],
  ])('%s', async (name, parameter, message) => {
    const contractPath = fixtureContract(`bad-${name.split(' ')[0]}`, [parameter]);
    await expect(generateClient({ contractPath, packageDir: packageDir('bad-fetch') })).rejects.toThrow(message);
    expect(() => generateAxiosClient({ contractPath, packageDir: packageDir('bad-axios') })).toThrow(message);
  });
});

describe('query parameters in the fetch client (openapi-fetch)', () => {
  const pkg = join(temp, 'fetch');
  beforeAll(async () => {
    await generateClient({ contractPath: fixtureContract('fetch'), packageDir: packageDir('fetch', 'module') });
  });

  it('sends them in the URL: arrays as repeated keys, undefined and empty arrays omitted, values encoded', async () => {
    const { createFetchClient, createOperations } = await import(pathToFileURL(join(pkg, 'src/generated/operations.ts')).href);
    const urls: string[] = [];
    const fetch = async (request: Request) => (urls.push(request.url), Response.json({ object: 'list', data: [] }));
    const ops = createOperations(createFetchClient({ baseUrl: 'http://127.0.0.1:1', fetch }));
    await ops.listJobs({ params: { query: { order: 'asc', limit: 5, status: ['queued', 'running'], include_result: true, after: 'job_a&b c' } } });
    await ops.listJobs({ params: { query: { order: 'desc', after: undefined, status: [] } } });
    expect(urls).toEqual(['http://127.0.0.1:1/v1/jobs?order=asc&limit=5&status=queued&status=running&include_result=true&after=job_a%26b%20c', 'http://127.0.0.1:1/v1/jobs?order=desc']);
  });

  it('types them from the schema (tsc; every @ts-expect-error must be needed)', () => {
    writeFileSync(
      join(pkg, 'src/probe.ts'),
      [
        `import { createFetchClient, createOperations } from './generated/operations.ts';`,
        `const ops = createOperations(createFetchClient({ baseUrl: 'http://x' }));`,
        `void ops.listJobs({ params: { query: { order: 'asc', limit: 5, status: ['queued'], include_result: false } } });`,
        `// @ts-expect-error limit is an integer, not text`,
        `void ops.listJobs({ params: { query: { order: 'asc', limit: '5' } } });`,
        `// @ts-expect-error status items are the enum's values`,
        `void ops.listJobs({ params: { query: { order: 'asc', status: ['lost'] } } });`,
        `// @ts-expect-error order is required`,
        `void ops.listJobs({ params: { query: { limit: 5 } } });`,
        `// @ts-expect-error so the init is too`,
        `void ops.listJobs();`,
        '',
      ].join('\n'),
    );
    expect(typeErrors(pkg)).toEqual([]);
  });
});

describe('query parameters in the axios client (openapi-generator typescript-axios)', () => {
  const pkg = join(temp, 'axios');
  beforeAll(() => {
    packageDir('axios');
    cpSync(join(root, 'packages/client-axios/openapitools.json'), join(pkg, 'openapitools.json'));
    generateAxiosClient({ contractPath: fixtureContract('axios'), packageDir: pkg });
  }, 60_000);

  it('sends an array as repeated keys (the generator alone joins it with commas) and types the arguments', async () => {
    writeFileSync(
      join(pkg, 'src/probe.ts'),
      [
        `import { DefaultApi } from './generated';`,
        `declare const api: DefaultApi;`,
        `void api.listJobs('asc', 5, undefined, ['queued'], undefined);`,
        `// @ts-expect-error order is 'asc' | 'desc'`,
        `void api.listJobs('sideways');`,
        `// @ts-expect-error status items are the enum's values`,
        `void api.listJobs('asc', 5, undefined, ['lost']);`,
        '',
      ].join('\n'),
    );
    // The generated code is not written for the workspace's stricter ESM settings: the package's own (tsconfig of packages/client-axios).
    expect(typeErrors(pkg, { verbatimModuleSyntax: false, erasableSyntaxOnly: false, allowImportingTsExtensions: false, rewriteRelativeImportExtensions: false, noImplicitOverride: false })).toEqual([]);

    const urls: string[] = [];
    const server = createServer((req, res) => {
      urls.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as AddressInfo;
      const { Configuration, DefaultApi } = await import(pathToFileURL(join(pkg, 'src/generated/index.ts')).href);
      const api = new DefaultApi(new Configuration({ basePath: `http://127.0.0.1:${port}` }));
      await api.listJobs('asc', 5, undefined, ['queued', 'running']);
      await api.listJobs('desc', undefined, undefined, []);
      expect(urls).toEqual(['/v1/jobs?limit=5&status=queued&status=running&order=asc', '/v1/jobs?order=desc']);
    } finally {
      server.close();
    }
  });

  it('leaves api.ts as the generator wrote it when no query parameter is an array', () => {
    expect(readFileSync(join(root, 'packages/client-axios/src/generated/api.ts'), 'utf8')).not.toContain('query.append');
    expect(readFileSync(join(pkg, 'src/generated/api.ts'), 'utf8')).toContain('if (Array.isArray(value)) for (const item of value) query.append(key, item);');
  });
});
