// Test support: operations with query parameters, added to a copy of the contract (the real one has
// none yet). Shared by query.test.ts (in memory) and query-routes.test.ts (workspace copy).
import type { JsonObject } from './contract.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;

/** `GET /v1/jobs` (header + query parameters) and `GET /v1/job-counts` (query parameters only). */
export const QUERY_FIXTURE_PATHS: { readonly [path: string]: JsonObject } = {
  '/v1/jobs': {
    get: {
      operationId: 'listJobs',
      summary: 'A page of jobs',
      parameters: [
        { $ref: '#/components/parameters/RequestIdHeader' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
        { name: 'after', in: 'query', schema: { type: 'string', pattern: '^job_' } },
        { name: 'status', in: 'query', style: 'form', explode: true, schema: { type: 'array', items: { type: 'string', enum: [...JOB_STATUSES] } } },
        { name: 'include_result', in: 'query', schema: { type: 'boolean' } },
        { name: 'order', in: 'query', required: true, schema: { type: 'string', enum: ['asc', 'desc'] } },
      ],
      responses: {
        '200': {
          description: 'A page of jobs.',
          content: {
            'application/json': {
              schema: { type: 'object', required: ['data', 'has_more'], properties: { data: { type: 'array', items: { $ref: '#/components/schemas/Job' } }, has_more: { type: 'boolean' } } },
            },
          },
        },
      },
    },
  },
  '/v1/job-counts': {
    get: {
      operationId: 'countJobs',
      parameters: [
        { name: 'window', in: 'query', schema: { type: 'number', exclusiveMinimum: 0 } },
        { name: 'buckets', in: 'query', required: true, schema: { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 3 } },
      ],
      responses: { '200': { description: 'Counts.', content: { 'application/json': { schema: { type: 'object', properties: { total: { type: 'integer' } } } } } } },
    },
  },
};
