// Bad-input fuzzing (issue 13): requests generated from the contract's request
// schema, valid and hostile, sent over real HTTP to the service in front of the
// simulator. Every invalid request must get a 4xx with the error envelope naming
// the problem, every valid one a contract-valid answer; never a 5xx, a hang or a
// crash, and memory stays bounded. Fixed seed, bounded counts, loopback only.
import { request as httpRequest, Agent } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc, { type Arbitrary } from 'fast-check';
import { openapiDocument, validators } from '@llmgw/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY, fastAgreement, startStack, type Stack } from '../testing/stack.ts';
import { arbitraryFor, type Schema } from './schema-arbitrary.ts';

/** Fixed so CI failures reproduce; fast-check prints the counterexample path. */
const SEED = 20261124;
const BODY_LIMIT_BYTES = 256 * 1024;
/** Short, so slow-body cases end quickly. */
const BODY_TIMEOUT_MS = 250;
/** A request that takes longer than this is a hang. */
const REQUEST_TIMEOUT_MS = 5000;
const RUNS = { valid: 150, invalid: 300, raw: 150, schemas: 60, transport: 40, slow: 3 };
/** heapUsed growth allowed over the whole file (after a forced GC). */
const HEAP_GROWTH_LIMIT_BYTES = 100 * 1024 * 1024;

const root = openapiDocument as unknown as Schema;
const schemas = (root.components as { schemas: Record<string, Schema> }).schemas;
const KNOWN_MODELS = (schemas.KnownModel!.enum as string[]).slice();

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface Send {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Send the body in pieces with a pause between them (slow bodies). */
  drip?: { pieces: number; everyMs: number };
  /** No Content-Length: Transfer-Encoding chunked. */
  chunked?: boolean;
}

let stack: Stack;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** One request over node:http, so raw bytes, missing lengths and drips are possible. */
function send(path: string, options: Send = {}): Promise<Reply> {
  const url = new URL(path, stack.url);
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json', ...options.headers };
  if (body && !options.chunked) headers['content-length'] ??= String(body.length);
  // A body that does not match its declared length leaves the connection unusable: use a fresh one.
  const honest = !body || options.chunked || headers['content-length'] === String(body.length);
  if (!honest) headers.connection = 'close';
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: body === undefined ? 'GET' : 'POST', headers, agent: honest ? agent : false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (hang)`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The service may answer (413/408) and close before the whole body is written.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
      reject(err);
    });
    if (!body) return void req.end();
    if (!options.drip) return void req.end(body);
    const { pieces, everyMs } = options.drip;
    const size = Math.ceil(body.length / pieces);
    let i = 0;
    const tick = () => {
      if (req.destroyed) return;
      const piece = body.subarray(i * size, (i + 1) * size);
      i++;
      if (i >= pieces) req.end(piece);
      else req.write(piece, () => setTimeout(tick, everyMs));
    };
    tick();
  });
}

const chat = (options: Send) => send('/v1/chat/completions', options);

function envelopeOf(reply: Reply): { code: string; message: string; param: string | null } {
  const ctype = String(reply.headers['content-type'] ?? '');
  expect(ctype, `error answers are JSON (status ${reply.status})`).toMatch(/application\/json/);
  const body = JSON.parse(reply.text) as unknown;
  expect(validators.ErrorResponse(body), `error envelope: ${reply.text.slice(0, 300)}`).toBe(true);
  return (body as { error: { code: string; message: string; param: string | null } }).error;
}

/** An invalid request: 4xx (one of `statuses`), the envelope, and a message or param naming `names`. */
function expectRejected(reply: Reply, statuses: readonly number[], names: RegExp | string): void {
  expect(reply.status, `status for an invalid request: ${reply.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(reply.status).toBeLessThan(500);
  expect(statuses).toContain(reply.status);
  const error = envelopeOf(reply);
  const said = `${error.param ?? ''} ${error.message}`;
  if (typeof names === 'string') expect(said, `the error names ${names}`).toContain(names);
  else expect(said, `the error names ${names}`).toMatch(names);
}

/** Statuses a schema-valid request may get besides 200/202: unknown model, model not allowed, unusable schema. */
const VALID_REQUEST_4XX = [403, 404, 422];

/**
 * A schema-valid request: a contract-valid answer, or a documented 4xx with the envelope. Never 5xx,
 * except the documented 502 `invalid_model_output` when structured output was asked for and the
 * model could not produce it (e.g. `max_tokens: 1` cuts the JSON): the model's fault, not the input's.
 */
function expectAnswered(reply: Reply, streamed: boolean, structured = false): 'ok' | 'rejected' {
  if (structured && reply.status === 502) {
    expect(envelopeOf(reply).code).toBe('invalid_model_output');
    return 'rejected';
  }
  expect(reply.status, `status for a valid request: ${reply.text.slice(0, 300)}`).toBeLessThan(500);
  if (reply.status === 200) {
    if (!streamed) {
      const body = JSON.parse(reply.text) as unknown;
      expect(validators.ChatCompletion(body), `ChatCompletion: ${reply.text.slice(0, 300)}`).toBe(true);
      return 'ok';
    }
    expect(String(reply.headers['content-type'])).toMatch(/text\/event-stream/);
    const events = reply.text.split('\n\n').map((b) => b.split('\n').find((l) => l.startsWith('data: '))?.slice(6)).filter((d): d is string => d !== undefined);
    expect(events.length).toBeGreaterThan(0);
    const last = events.at(-1)!;
    for (const data of events.slice(0, -1)) expect(validators.ChatCompletionChunk(JSON.parse(data)), data).toBe(true);
    // A stream ends with [DONE], or with an in-band error envelope and no [DONE].
    if (last !== '[DONE]') expect(validators.ErrorResponse(JSON.parse(last)), last).toBe(true);
    return last === '[DONE]' ? 'ok' : 'rejected';
  }
  if (reply.status === 202) {
    expect(validators.JobAccepted(JSON.parse(reply.text))).toBe(true);
    return 'ok';
  }
  expect(VALID_REQUEST_4XX, `status ${reply.status}: ${reply.text.slice(0, 300)}`).toContain(reply.status);
  envelopeOf(reply);
  return 'rejected';
}

async function expectAlive(): Promise<void> {
  const reply = await send('/healthz', { headers: {} });
  expect(reply.status).toBe(200);
}

// ---------- generators ----------

/** Small JSON Schemas the simulator can answer (it ignores pattern / if / not). */
const simpleJsonSchema: Arbitrary<Schema> = fc.letrec<{ node: Schema }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<Schema>({ type: 'string' }, { type: 'number', minimum: 0, maximum: 1 }, { type: 'integer' }, { type: 'boolean' }, { enum: ['a', 'b', 'c'] }),
    fc.record({ type: fc.constant('array'), items: tie('node') }),
    fc
      .dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), tie('node'), { minKeys: 1, maxKeys: 4 })
      .map((properties) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false })),
  ),
})).node.map((node) => (node.type === 'object' ? node : { type: 'object', properties: { value: node }, required: ['value'], additionalProperties: false }));

/** Mostly the models the test deployment serves, sometimes a name it does not (404). */
const modelId: Arbitrary<unknown> = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...KNOWN_MODELS) }, { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9.-]{1,20}$/) });

const validRequest = arbitraryFor(schemas.CreateChatCompletionRequest!, {
  root,
  overrides: { ModelId: modelId, JsonSchemaDocument: simpleJsonSchema },
}) as Arbitrary<Record<string, unknown>>;

/** What a mutation did to a valid request, and what the error must name. */
interface Mutation {
  body: unknown;
  names: string | RegExp;
  statuses: number[];
  label: string;
}

const WRONG_TYPE_VALUES: Record<string, unknown[]> = {
  string: [42, true, null, [], {}],
  number: ['0.5', true, null, [], {}],
  integer: ['7', 1.5, true, null, []],
  boolean: ['true', 1, null, [], {}],
  array: ['x', 1, {}, null],
  object: ['x', 1, [], true],
};

const TOP_LEVEL_TYPED: Array<[string, string]> = [
  ['temperature', 'number'],
  ['top_p', 'number'],
  ['max_tokens', 'integer'],
  ['max_completion_tokens', 'integer'],
  ['seed', 'integer'],
  ['stream', 'boolean'],
  ['user', 'string'],
  ['messages', 'array'],
  ['response_format', 'object'],
];

/** Whether the contract lets a top-level field be null (OpenAI's nullable parameters: null means not given). */
function nullable(field: string): boolean {
  const type = (schemas.CreateChatCompletionRequest!.properties as Record<string, Schema>)[field]?.type;
  return Array.isArray(type) && type.includes('null');
}

function mutations(base: Record<string, unknown>): Arbitrary<Mutation>[] {
  const clone = () => structuredClone(base) as Record<string, any>;
  const messages = (base.messages as unknown[]).length;
  const index = fc.nat({ max: messages - 1 });
  return [
    fc.constantFrom('model', 'messages').map((field) => {
      const body = clone();
      delete body[field];
      return { body, names: field, statuses: [400], label: `missing ${field}` };
    }),
    fc.tuple(index, fc.constantFrom('role', 'content')).map(([i, field]) => {
      const body = clone();
      delete body.messages[i][field];
      return { body, names: `messages[${i}].${field}`, statuses: [400], label: `missing messages[].${field}` };
    }),
    fc.constantFrom(...TOP_LEVEL_TYPED).chain(([field, type]) =>
      fc.constantFrom(...WRONG_TYPE_VALUES[type]!.filter((v) => v !== null || !nullable(field))).map((value) => {
        const body = clone();
        body[field] = value;
        return { body, names: field, statuses: [400], label: `wrong type ${field}` };
      }),
    ),
    fc.constantFrom(...WRONG_TYPE_VALUES.string!, 7).map((value) => {
      const body = clone();
      body.model = value;
      return { body, names: 'model', statuses: [400], label: 'wrong type model' };
    }),
    fc.tuple(index, fc.constantFrom(42, true, null, {}, [])).map(([i, value]) => {
      const body = clone();
      body.messages[i].content = value;
      return { body, names: `messages[${i}].content`, statuses: [400], label: 'wrong type content' };
    }),
    fc.tuple(index, fc.string({ minLength: 1, maxLength: 12 }).filter((r) => !['system', 'developer', 'user', 'assistant'].includes(r))).map(([i, role]) => {
      const body = clone();
      body.messages[i].role = role;
      return { body, names: `messages[${i}].role`, statuses: [400], label: 'bad role' };
    }),
    fc.oneof(
      fc.record({ field: fc.constant('temperature'), value: fc.oneof(fc.double({ min: 1.0001, max: 1e6, noNaN: true }), fc.double({ max: -0.0001, min: -1e6, noNaN: true })) }),
      fc.record({ field: fc.constant('top_p'), value: fc.double({ min: 1.0001, max: 10, noNaN: true }) }),
      fc.record({ field: fc.constant('max_tokens'), value: fc.integer({ min: -1000, max: 0 }) }),
      fc.record({ field: fc.constant('n'), value: fc.integer({ min: 2, max: 10 }) }),
      fc.record({ field: fc.constant('user'), value: fc.integer({ min: 257, max: 5000 }).map((n) => 'u'.repeat(n)) }),
      fc.record({ field: fc.constant('stop'), value: fc.array(fc.string(), { minLength: 5, maxLength: 8 }) }),
    ).map(({ field, value }) => {
      const body = clone();
      body[field] = value;
      return { body, names: field, statuses: [400], label: `out of range ${field}` };
    }),
    fc.constant(null).map(() => {
      const body = clone();
      body.messages = [];
      return { body, names: 'messages', statuses: [400], label: 'no messages' };
    }),
    fc.tuple(index, fc.constantFrom('bad name', 'x'.repeat(65), 'ünïcode', '')).map(([i, name]) => {
      const body = clone();
      body.messages[i].name = name;
      return { body, names: `messages[${i}].name`, statuses: [400], label: 'bad name' };
    }),
    fc.tuple(index, fc.stringMatching(/^[a-z]{1,8}$/).filter((k) => k !== 'name')).map(([i, key]) => {
      const body = clone();
      body.messages[i][key] = 1;
      return { body, names: `messages[${i}].${key}`, statuses: [400], label: 'unknown message property' };
    }),
    fc.constantFrom({ type: 'xml' }, { type: 'json_schema' }, { type: 'json_schema', json_schema: { name: 'bad name!' } }, {}).map((format) => {
      const body = clone();
      body.response_format = format;
      return { body, names: 'response_format', statuses: [400], label: 'bad response_format' };
    }),
    // Deep nesting where the schema wants a string.
    fc.tuple(index, fc.integer({ min: 10, max: 20_000 })).map(([i, depth]) => {
      const body = clone();
      body.messages[i].content = '@@DEEP@@';
      return { body: JSON.stringify(body).replace('"@@DEEP@@"', '['.repeat(depth) + ']'.repeat(depth)), names: `messages[${i}].content`, statuses: [400], label: 'deep nesting in content' };
    }),
  ];
}

const invalidRequest: Arbitrary<Mutation> = validRequest.chain((base) => fc.oneof(...mutations(base)));

const serialise = (m: Mutation) => (typeof m.body === 'string' ? m.body : JSON.stringify(m.body));

const fcOptions = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

// ---------- tests ----------

describe('bad input over HTTP (fast-check, fixed seed)', () => {
  let gc: (() => void) | undefined;
  let heapBefore = 0;

  beforeAll(async () => {
    stack = await startStack({
      agreement: fastAgreement((a) => {
        a.rateLimits.requestsPerMinute = 1e6;
        a.rateLimits.tokensPerMinute = 1e9;
        a.tokenBudget.tokensPerWindow = 1e12;
      }),
      config: { bodyLimitBytes: BODY_LIMIT_BYTES, bodyTimeoutMs: BODY_TIMEOUT_MS },
    });
    // A forced GC makes the heap comparison meaningful (works without --expose-gc).
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as (() => void) | undefined;
    gc?.();
    heapBefore = process.memoryUsage().heapUsed;
  });

  afterAll(async () => {
    agent.destroy();
    await stack?.close();
  });

  it('answers schema-valid requests with contract-valid answers', async () => {
    let ok = 0;
    await fc.assert(
      fc.asyncProperty(validRequest, async (body) => {
        const reply = await chat({ body: JSON.stringify(body) });
        const structured = (body.response_format as { type?: string } | undefined)?.type?.startsWith('json') ?? false;
        if (expectAnswered(reply, body.stream === true, structured) === 'ok') ok++;
      }),
      fcOptions(RUNS.valid),
    );
    // Most generated requests name a served model with a usable schema: most must succeed.
    expect(ok).toBeGreaterThan(RUNS.valid * 0.5);
    await expectAlive();
  });

  it('rejects schema-invalid requests with a 400 envelope naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(invalidRequest, async (m) => {
        const reply = await chat({ body: serialise(m) });
        expectRejected(reply, m.statuses, m.names);
      }),
      fcOptions(RUNS.invalid),
    );
    await expectAlive();
  });

  it('rejects malformed JSON text, invalid UTF-8 and non-object bodies', async () => {
    const valid = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    const raw: Arbitrary<{ body: string | Buffer; names: RegExp; label: string }> = fc.oneof(
      fc.nat({ max: valid.length - 1 }).map((cut) => ({ body: valid.slice(0, cut), names: /Malformed JSON|empty/, label: 'truncated' })),
      fc.integer({ min: 1, max: 5_000 }).map((depth) => ({ body: '['.repeat(depth), names: /Malformed JSON/, label: 'unclosed deep nesting' })),
      fc.integer({ min: 1, max: 5_000 }).map((depth) => ({ body: '{"a":'.repeat(depth), names: /Malformed JSON/, label: 'unclosed deep objects' })),
      fc.constantFrom('', ' ', 'null', '42', '"text"', '[]', 'true', '[{"model":"gpt-4o-mini"}]').map((body) => ({ body, names: /body|Malformed|empty/, label: 'not an object' })),
      fc.tuple(fc.nat({ max: 10 }), fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80])).map(([at, bytes]) => {
        const prefix = Buffer.from(valid.slice(0, valid.indexOf('hello') + at), 'utf8');
        return { body: Buffer.concat([prefix, Buffer.from(bytes), Buffer.from(valid.slice(valid.indexOf('hello') + at), 'utf8')]), names: /UTF-8/, label: 'invalid UTF-8' };
      }),
      fc.constantFrom(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],}`, `{'model':'gpt-4o-mini'}`, `{"model":"gpt-4o-mini" "messages":[]}`, `NaN`, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\x41"}]}`).map((body) => ({ body, names: /Malformed JSON/, label: 'syntax' })),
    );
    await fc.assert(
      fc.asyncProperty(raw, async ({ body, names }) => {
        expectRejected(await chat({ body }), [400], names);
      }),
      fcOptions(RUNS.raw),
    );
    await expectAlive();
  });

  // Regression guard: describing the syntax error of a deeply nested, unclosed body
  // once recursed per level (packages/server/src/core/json-error.ts) and overflowed
  // the stack past ~10^4 levels: a 500 for a 20 KB body. Found by this file.
  it('rejects deeply nested unclosed JSON (20 000+ levels) with a 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 20_000, max: 200_000 }), fc.constantFrom('[', '{"a":'), async (depth, open) => {
        expectRejected(await chat({ body: open.repeat(depth) }), [400], /Malformed JSON/);
      }),
      fcOptions(5),
    );
    await expectAlive();
  });

  // Regression guard: a caller schema nested a few hundred levels deep (10-20 KB, under
  // the 64 KB limit) once took Ajv seconds of CPU to compile, blocking the event loop.
  // Now a depth bound (chat/structured-output.ts) answers 422 before compiling. Found by this file.
  it('rejects deeply nested caller schemas quickly with a 422', async () => {
    const deep = (depth: number) => {
      let s: Schema = { type: 'string' };
      for (let i = 0; i < depth; i++) s = { type: 'object', properties: { a: s }, required: ['a'] };
      return s;
    };
    await fc.assert(
      // ~120 levels (6 KB) already cost most of a second; the test stays at that size.
      fc.asyncProperty(fc.integer({ min: 110, max: 130 }), fc.constant(false), async (depth, stream) => {
        const started = Date.now();
        const reply = await chat({ body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_schema', json_schema: { name: 'deep', schema: deep(depth) } }, stream }) });
        expectRejected(reply, [422], /response_format/);
        expect(Date.now() - started).toBeLessThan(200);
      }),
      fcOptions(1),
    );
  });

  // Regression guard: streamed structured answers once swapped `model` and `content`
  // (chat/handler.ts bufferedStream, fixed in 5fd426c); found by this file.
  it('streams structured answers with the model name in `model` and the JSON in the content', async () => {
    await fc.assert(
      fc.asyncProperty(simpleJsonSchema, async (schema) => {
        const reply = await chat({ body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_schema', json_schema: { name: 's', schema } }, stream: true }) });
        expect(reply.status).toBe(200);
        const chunks = reply.text.split('\n\n').map((b) => b.slice(6)).filter((d) => d.startsWith('{')).map((d) => JSON.parse(d) as { model: string; choices: Array<{ delta: { content?: string } }> });
        for (const c of chunks) expect(c.model).toBe('gpt-4o-mini');
        const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
        expect(() => JSON.parse(content)).not.toThrow();
      }),
      fcOptions(5),
    );
  });

  it('reads duplicate keys last-wins and treats __proto__ keys as plain data', async () => {
    const msg = `[{"role":"user","content":"hi"}]`;
    const cases: Array<{ body: string; expect: 'ok-json' | 'rejected'; names?: string }> = [
      // The last duplicate is the one validated.
      { body: `{"model":"gpt-4o-mini","model":123,"messages":${msg}}`, expect: 'rejected', names: 'model' },
      { body: `{"model":123,"model":"gpt-4o-mini","messages":${msg}}`, expect: 'ok-json' },
      { body: `{"model":"gpt-4o-mini","messages":${msg},"messages":[]}`, expect: 'rejected', names: 'messages' },
      { body: `{"model":"gpt-4o-mini","messages":[{"role":"user","role":"robot","content":"hi"}]}`, expect: 'rejected', names: 'messages[0].role' },
      { body: `{"model":"gpt-4o-mini","stream":true,"stream":false,"messages":${msg}}`, expect: 'ok-json' },
      // __proto__ must not smuggle fields in through the prototype chain.
      { body: `{"__proto__":{"model":"gpt-4o-mini"},"messages":${msg}}`, expect: 'rejected', names: 'model' },
      { body: `{"model":"gpt-4o-mini","messages":[{"__proto__":{"role":"user"},"content":"hi"}]}`, expect: 'rejected', names: 'messages[0]' },
      { body: `{"model":"gpt-4o-mini","__proto__":{"stream":true},"messages":${msg}}`, expect: 'ok-json' },
      { body: `{"model":"gpt-4o-mini","constructor":{"prototype":{"stream":true}},"messages":${msg}}`, expect: 'ok-json' },
      { body: `{"model":"gpt-4o-mini","__proto__":{"response_format":{"type":"json_object"}},"messages":${msg}}`, expect: 'ok-json' },
      { body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","__proto__":{"x":1}}]}`, expect: 'rejected', names: 'messages[0].__proto__' },
    ];
    const property = fc.asyncProperty(fc.constantFrom(...cases), async (c) => {
      const reply = await chat({ body: c.body });
      if (c.expect === 'rejected') return expectRejected(reply, [400], c.names!);
      expect(reply.status, reply.text.slice(0, 300)).toBe(200);
      // Not streamed and not structured: an inherited `stream` or `response_format` would show here.
      expect(String(reply.headers['content-type'])).toMatch(/application\/json/);
      const body = JSON.parse(reply.text) as { choices: Array<{ message: { content: string } }> };
      expect(validators.ChatCompletion(body)).toBe(true);
      expect(() => JSON.parse(body.choices[0]!.message.content)).toThrow();
    });
    await fc.assert(property, { ...fcOptions(cases.length * 3) });
    await expectAlive();
    // Nothing leaked onto Object.prototype in this process (the service runs in it).
    expect(({} as Record<string, unknown>).stream).toBeUndefined();
    expect(({} as Record<string, unknown>).model).toBeUndefined();
  });

  it('answers hostile json_schema documents with 422 (or a valid answer), never a 5xx', async () => {
    const nested = (depth: number, key: string) => {
      let s: Schema = { type: 'string' };
      for (let i = 0; i < depth; i++) s = key === 'items' ? { type: 'array', items: s } : { type: 'object', properties: { [key]: s }, required: [key] };
      return s;
    };
    // Big schemas are built from small descriptions inside the property: fast-check's
    // reporter walks generated values recursively and would overflow on them.
    const build = (h: { schema?: unknown; deep?: [number, string]; enumSize?: number }): unknown =>
      h.deep ? nested(h.deep[0], h.deep[1]) : h.enumSize ? { type: 'object', properties: { v: { enum: Array.from({ length: h.enumSize }, (_, i) => `value-${i}`) } }, required: ['v'] } : h.schema;
    const hostile: Arbitrary<{ schema?: unknown; deep?: [number, string]; enumSize?: number; label: string }> = fc.oneof(
      fc.tuple(fc.integer({ min: 2, max: 40 }), fc.constantFrom('items', 'a')).map(([d, k]) => ({ deep: [d, k] as [number, string], label: `deep ${k} ${d}` })),
      fc.integer({ min: 100, max: 20_000 }).map((n) => ({ enumSize: n, label: `enum ${n}` })),
      fc.constantFrom<{ schema: unknown; label: string }>(
        { schema: { $ref: '#' }, label: 'self $ref' },
        { schema: { type: 'object', properties: { a: { $ref: '#' } } }, label: 'recursive property' },
        { schema: { $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, label: '$ref loop' },
        { schema: { $defs: { a: { allOf: [{ $ref: '#/$defs/a' }] } }, $ref: '#/$defs/a' }, label: 'allOf self loop' },
        { schema: { $ref: 'https://schemas.example.invalid/remote.json' }, label: 'remote $ref' },
        { schema: { type: 'object', properties: { a: { $ref: 'http://127.0.0.1:1/x.json#/a' } } }, label: 'remote nested $ref' },
        { schema: { $id: 'https://evil.example.invalid/s', $ref: 'other.json' }, label: 'relative remote $ref' },
        { schema: { type: 'object', properties: { a: { type: 'string', pattern: '(' } } }, label: 'bad regex' },
        { schema: { type: 'object', properties: { a: { type: 'string', pattern: '^(a+)+$' } }, required: ['a'] }, label: 'redos regex' },
        { schema: { type: 12 }, label: 'bad type keyword' },
        { schema: { type: 'object', required: 'a' }, label: 'bad required' },
        { schema: { not: {} }, label: 'matches nothing' },
        // Not here: `minLength: 1e9` / `minItems: 1e9` wedge the simulator (it tries to build the
        // instance; reported), and the simulator runs in this process.
        { schema: { type: 'object', __proto__: { type: 'string' } } as unknown as Schema, label: 'proto key in schema' },
        { schema: { type: 'object', propertyNames: { pattern: '\\p{Invalid}' } }, label: 'bad unicode property' },
      ),
    );
    await fc.assert(
      fc.asyncProperty(hostile, fc.constantFrom('json_schema', 'json_object'), fc.boolean(), async (h, form, stream) => {
        const schema = build(h);
        const response_format = form === 'json_schema' ? { type: 'json_schema', json_schema: { name: 'hostile', schema } } : { type: 'json_object', schema };
        const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'answer in JSON' }], response_format, stream });
        if (Buffer.byteLength(body) > BODY_LIMIT_BYTES) return expectRejected(await chat({ body }), [413], /limit/);
        const reply = await chat({ body });
        if (reply.status === 422) return void expect(envelopeOf(reply).param ?? '').toMatch(/response_format/);
        expectAnswered(reply, stream, true);
      }),
      fcOptions(RUNS.schemas),
    );
    await expectAlive();
  });

  it('rejects wrong content types (415) and oversized bodies (413)', async () => {
    const valid = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    type Case = { send: Send; statuses: number[]; names: RegExp };
    const transport: Arbitrary<Case> = fc.oneof<Arbitrary<Case>[]>(
      fc
        .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/jsonx', 'text/json', '', 'application/xml')
        .map((type) => ({ send: { body: valid, headers: { 'content-type': type } }, statuses: [415], names: /Content-Type/ })),
      fc.constant({ send: { body: valid, headers: { 'content-type': undefined as unknown as string } }, statuses: [415], names: /Content-Type/ }),
      fc.tuple(fc.integer({ min: BODY_LIMIT_BYTES + 1, max: BODY_LIMIT_BYTES * 3 }), fc.boolean()).map(([size, chunked]) => ({
        send: { body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(size) }] }), chunked },
        statuses: [413],
        names: /limit/,
      })),
      // Declares more than the limit, sends little: refused from the header alone.
      fc.integer({ min: BODY_LIMIT_BYTES + 1, max: 2 ** 31 }).map((declared) => ({ send: { body: valid, headers: { 'content-length': String(declared) } }, statuses: [413], names: /limit/ })),
    );
    await fc.assert(
      fc.asyncProperty(transport, async ({ send: s, statuses, names }) => {
        const headers = { ...s.headers };
        // An undefined content-type means "send none".
        const reply = await (headers['content-type'] === undefined && 'content-type' in headers
          ? sendWithoutContentType(s.body as string)
          : chat({ ...s, headers }));
        expectRejected(reply, statuses, names);
      }),
      fcOptions(RUNS.transport),
    );
    await expectAlive();
  });

  it('answers slow bodies with 408 once the body timeout passes', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a slow question' }] });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4, max: 8 }), async (pieces) => {
        const started = Date.now();
        const reply = await chat({ body, drip: { pieces, everyMs: BODY_TIMEOUT_MS } });
        expectRejected(reply, [408], /not received within/);
        expect(Date.now() - started).toBeLessThan(BODY_TIMEOUT_MS * pieces);
      }),
      fcOptions(RUNS.slow),
    );
    await expectAlive();
  });

  it('keeps memory bounded over the run', async () => {
    gc?.();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    expect(growth, `heapUsed grew by ${(growth / 2 ** 20).toFixed(1)} MB${gc ? '' : ' (no forced GC)'}`).toBeLessThan(gc ? HEAP_GROWTH_LIMIT_BYTES : 2 * HEAP_GROWTH_LIMIT_BYTES);
    await expectAlive();
  });
});

function sendWithoutContentType(body: string): Promise<Reply> {
  const url = new URL('/v1/chat/completions', stack.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, timeout: REQUEST_TIMEOUT_MS, headers: { authorization: `Bearer ${TEST_KEY}`, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('hang')));
    req.on('error', reject);
    req.end(body);
  });
}
