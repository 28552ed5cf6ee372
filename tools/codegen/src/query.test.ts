import { describe, expect, it } from 'vitest';
import { loadContract, type Contract, type JsonObject } from './contract.ts';
import { generate } from './generate.ts';
import { listOperations } from './operations.ts';
import { JOB_STATUSES, QUERY_FIXTURE_PATHS } from './query-fixture.ts';
import { ROOT } from './test-workspace.ts';

const base = loadContract(ROOT);

/** The contract plus the query fixture; `replaceLimit` swaps listJobs' `limit` parameter for another. */
function withQuery(replaceLimit?: JsonObject): Contract {
  const fixture = structuredClone(QUERY_FIXTURE_PATHS) as { [path: string]: { get: { parameters: JsonObject[] } } };
  if (replaceLimit) fixture['/v1/jobs']!.get.parameters[1] = replaceLimit;
  return { ...base, doc: { ...base.doc, paths: { ...(base.doc.paths as JsonObject), ...(fixture as unknown as JsonObject) } } };
}

const array = { type: 'array', items: { type: 'string' } };

describe('query parameters in the operation model', () => {
  it('become parameters with their coercion, TypeScript type and default', () => {
    const listJobs = listOperations(withQuery()).find((op) => op.operationId === 'listJobs');
    expect(listJobs?.parameters.map(({ name, in: at, required, tsType, query, default: byDefault }) => ({ name, in: at, required, tsType, query, default: byDefault }))).toEqual([
      { name: 'x-request-id', in: 'header', required: false, tsType: 'string', query: undefined, default: undefined },
      { name: 'limit', in: 'query', required: false, tsType: 'number', query: { scalar: 'number', array: false, tsType: 'number' }, default: 20 },
      { name: 'after', in: 'query', required: false, tsType: 'string', query: { scalar: 'string', array: false, tsType: 'string' }, default: undefined },
      {
        name: 'status',
        in: 'query',
        required: false,
        tsType: `(${JOB_STATUSES.map((s) => `"${s}"`).join(' | ')})[]`,
        query: { scalar: 'string', array: true, tsType: `(${JOB_STATUSES.map((s) => `"${s}"`).join(' | ')})[]` },
        default: undefined,
      },
      { name: 'include_result', in: 'query', required: false, tsType: 'boolean', query: { scalar: 'boolean', array: false, tsType: 'boolean' }, default: undefined },
      { name: 'order', in: 'query', required: true, tsType: '"asc" | "desc"', query: { scalar: 'string', array: false, tsType: '"asc" | "desc"' }, default: undefined },
    ]);
  });

  it('generates the stubs and a params validator whose type holds defaulted values', async () => {
    const files = await generate(withQuery());
    const routes = files.get('packages/server/src/generated/routes.ts') ?? '';
    expect(routes).toContain(`limit: queryNumber(c.req.query('limit')) ?? 20, after: c.req.query('after'), status: c.req.queries('status')`);
    expect(routes).toContain(`buckets: queryNumbers(c.req.queries('buckets'))`);
    expect(files.get('packages/contract/src/generated/validators.d.ts')).toContain(`listJobs_params: Validator<{ "x-request-id"?: string; "limit": number; "after"?: string;`);
  });
});

describe('query parameters the stubs cannot read fail generation, saying why', () => {
  const at = '#/paths/~1v1~1jobs/get/parameters/1';
  it.each([
    ['a cookie parameter', { name: 'session', in: 'cookie', schema: { type: 'string' } }, `${at}: cookie parameters are not supported by the server stubs yet`],
    ['style pipeDelimited', { name: 'status', in: 'query', style: 'pipeDelimited', schema: array }, `${at}: query parameter status has style "pipeDelimited"; only style: form (the default) is supported`],
    ['style deepObject', { name: 'filter', in: 'query', style: 'deepObject', schema: { type: 'object' } }, `${at}: query parameter filter has style "deepObject"; only style: form (the default) is supported`],
    ['explode: false', { name: 'status', in: 'query', explode: false, schema: array }, `${at}: array query parameter status has explode: false; only repeated keys (explode: true, the default) are supported`],
    ['a required array that may be empty', { name: 'status', in: 'query', required: true, schema: array }, `${at}: array query parameter status is required but may be empty: an empty array is sent as no parameter at all, which the stub refuses (give it minItems: 1)`],
    ['an object', { name: 'filter', in: 'query', schema: { type: 'object' } }, `${at} (filter): query parameters must be integer, number, boolean, string or an array of one of those with a single \`type\` (got type "object")`],
    ['a nullable type', { name: 'cursor', in: 'query', schema: { type: ['string', 'null'] } }, `${at} (cursor): query parameters must be integer, number, boolean, string or an array of one of those with a single \`type\` (got type ["string","null"])`],
    ['an array of arrays', { name: 'ids', in: 'query', schema: { type: 'array', items: array } }, `${at} (ids items): query parameters must be integer, number, boolean, string or an array of one of those with a single \`type\` (got type "array")`],
    ['content instead of schema', { name: 'filter', in: 'query', content: { 'application/json': { schema: { type: 'object' } } } }, `${at}: query parameter filter needs a \`schema\` (\`content\` is not supported)`],
    ['a name a header parameter has', { name: 'x-request-id', in: 'query', schema: { type: 'string' } }, `#/paths/~1v1~1jobs/get: parameter name x-request-id is used twice (header and query); the stubs validate them as one object`],
    ['a default its schema rejects', { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, default: 0 } }, `#/paths/~1v1~1jobs/get: query parameter limit has default 0, which fails its schema (limit must be >= 1)`],
  ])('%s', async (_name, parameter, message) => {
    await expect(generate(withQuery(parameter))).rejects.toThrow(message);
  });
});
