import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateClient } from '../../clientgen/src/generate.ts';
import { generateWorkspace } from './generate.ts';
import { QUERY_FIXTURE_PATHS } from './query-fixture.ts';
import { copyWorkspace, editContract, NODE_MODULES } from './test-workspace.ts';

/** Stubs (and a fetch client) generated for a contract with query parameters, in a workspace copy. */
describe('query parameters in the generated stubs (workspace copy)', () => {
  let dir: string;
  let app: Hono;
  const listJobs = vi.fn((_c: unknown, _input: unknown) => ({ status: 200 as const, body: { data: [], has_more: false } }));
  const countJobs = vi.fn((_c: unknown, _input: unknown) => ({ status: 200 as const, body: { total: 0 } }));

  beforeAll(async () => {
    dir = copyWorkspace();
    editContract(dir, (doc) => {
      for (const [path, item] of Object.entries(QUERY_FIXTURE_PATHS)) doc.setIn(['paths', path], doc.createNode(item));
    });
    await generateWorkspace(dir);
    const { registerRoutes } = await import(pathToFileURL(join(dir, 'packages/server/src/generated/routes.ts')).href);
    app = registerRoutes(new Hono(), { listJobs, countJobs }, { validateResponses: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const get = async (url: string) => {
    listJobs.mockClear();
    countJobs.mockClear();
    const res = await app.request(url);
    return { status: res.status, body: (await res.json()) as { error?: unknown } };
  };

  it('coerces each value to its schema type and hands the handler typed input', async () => {
    const res = await get('/v1/jobs?order=asc&limit=5&status=queued&status=running&include_result=true&after=job_a%2Bb+c');
    expect(res).toEqual({ status: 200, body: { data: [], has_more: false } });
    expect(listJobs).toHaveBeenCalledWith(expect.anything(), {
      headers: { 'x-request-id': undefined },
      query: { limit: 5, after: 'job_a+b c', status: ['queued', 'running'], include_result: true, order: 'asc' },
    });
  });

  it('fills schema.default in for an absent parameter; other absent ones stay undefined', async () => {
    expect((await get('/v1/jobs?order=desc')).status).toBe(200);
    expect(listJobs).toHaveBeenCalledWith(expect.anything(), {
      headers: { 'x-request-id': undefined },
      query: { limit: 20, after: undefined, status: undefined, include_result: undefined, order: 'desc' },
    });
  });

  it('ignores unknown parameters and reads a repeated scalar from its first occurrence', async () => {
    expect((await get('/v1/jobs?order=asc&page=2&flag&limit=3&limit=4')).status).toBe(200);
    expect(listJobs.mock.calls[0]?.[1]).toMatchObject({ query: { limit: 3, order: 'asc' } });
  });

  it('reads number and integer arrays on an operation with only query parameters', async () => {
    expect((await get('/v1/job-counts?buckets=1&window=0.5&buckets=60')).status).toBe(200);
    expect(countJobs).toHaveBeenCalledWith(expect.anything(), { query: { window: 0.5, buckets: [1, 60] } });
  });

  it.each([
    ['/v1/jobs?limit=5', 'order', 'order: is required'],
    ['/v1/jobs?order=sideways', 'order', 'order: must be one of asc, desc'],
    ['/v1/jobs?order=asc&limit=abc', 'limit', 'limit: must be integer'],
    ['/v1/jobs?order=asc&limit=', 'limit', 'limit: must be integer'],
    ['/v1/jobs?order=asc&limit=1.5', 'limit', 'limit: must be integer'],
    ['/v1/jobs?order=asc&limit=0', 'limit', 'limit: must be >= 1'],
    ['/v1/jobs?order=asc&limit=101', 'limit', 'limit: must be <= 100'],
    ['/v1/jobs?order=asc&after=cursor', 'after', 'after: must match pattern "^job_"'],
    ['/v1/jobs?order=asc&status=queued&status=lost', 'status[1]', 'status[1]: must be one of queued, running, succeeded, failed'],
    ['/v1/jobs?order=asc&include_result=yes', 'include_result', 'include_result: must be boolean'],
    ['/v1/job-counts', 'buckets', 'buckets: is required'],
    ['/v1/job-counts?buckets=1&buckets=x', 'buckets[1]', 'buckets[1]: must be integer'],
    ['/v1/job-counts?buckets=1&buckets=2&buckets=3&buckets=4', 'buckets', 'buckets: must NOT have more than 3 items'],
    ['/v1/job-counts?buckets=1&window=0', 'window', 'window: must be > 0'],
  ])('400 for %s, naming %s as path and header parameters are named', async (url, param, message) => {
    const res = await get(url);
    expect(res).toEqual({ status: 400, body: { error: { code: 'invalid_request', type: 'invalid_request_error', param, message } } });
    expect(listJobs).not.toHaveBeenCalled();
    expect(countJobs).not.toHaveBeenCalled();
  });

  it('types the handler input from the schemas (tsc over the copy)', () => {
    writeFileSync(
      join(dir, 'packages/server/src/uses-query.ts'),
      [
        `import type { CountJobsInput, ListJobsInput } from './generated/routes.ts';`,
        `declare const jobs: ListJobsInput;`,
        `declare const counts: CountJobsInput;`,
        `export const limit: number = jobs.query.limit; // defaulted: always there`,
        `export const order: 'asc' | 'desc' = jobs.query.order;`,
        `export const status: readonly ('queued' | 'running' | 'succeeded' | 'failed')[] | undefined = jobs.query.status;`,
        `export const include: boolean | undefined = jobs.query.include_result;`,
        `export const buckets: readonly number[] = counts.query.buckets;`,
        `// @ts-expect-error optional without a default: may be undefined`,
        `export const after: string = jobs.query.after;`,
        `// @ts-expect-error coerced: a number, not the query text`,
        `export const limitText: string = jobs.query.limit;`,
        `// @ts-expect-error only the enum's values`,
        `export const sideways: typeof jobs.query.order = 'sideways';`,
        '',
      ].join('\n'),
    );
    // Only this file (and what it imports): the copy's own tests implement Handlers without the fixture's operations.
    writeFileSync(join(dir, 'packages/server/tsconfig.query.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src/uses-query.ts'] }));
    const run = spawnSync(process.execPath, [join(NODE_MODULES, 'typescript/bin/tsc'), '-p', join(dir, 'packages/server/tsconfig.query.json'), '--noEmit'], { encoding: 'utf8' });
    expect(run.stdout).toBe(''); // tsc prints each error, an unused @ts-expect-error included
    expect(run.status).toBe(0);
  });

  it('the generated fetch client sends what the stubs read (same contract, round trip)', async () => {
    const pkg = join(dir, 'packages/client-query');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"name":"client-query","version":"0.0.0"}');
    await generateClient({ contractPath: join(dir, 'contracts/openapi.yaml'), packageDir: pkg });
    const { createFetchClient, createOperations } = await import(pathToFileURL(join(pkg, 'src/generated/operations.ts')).href);
    const urls: string[] = [];
    const ops = createOperations(createFetchClient({ baseUrl: 'http://gateway.test', fetch: (request: Request) => (urls.push(request.url), app.fetch(request)) }));
    listJobs.mockClear();
    const { data } = await ops.listJobs({ params: { query: { order: 'desc', limit: 7, status: ['failed', 'queued'], include_result: false, after: undefined } } });
    expect(data).toEqual({ data: [], has_more: false });
    expect(urls).toEqual(['http://gateway.test/v1/jobs?order=desc&limit=7&status=failed&status=queued&include_result=false']);
    expect(listJobs.mock.calls[0]?.[1]).toEqual({
      headers: { 'x-request-id': undefined },
      query: { limit: 7, after: undefined, status: ['failed', 'queued'], include_result: false, order: 'desc' },
    });
  });
});
