import { beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '@llmgw/resilience';
import { isPromise } from '../stores/types.ts';
import { createStructuredOutput, type OutputSpec, type StructuredOutput } from './structured-output.ts';

/** specFor, which answers at once once the regular expression engine is loaded (beforeAll). */
function specOf(so: StructuredOutput, format: Parameters<StructuredOutput['specFor']>[0]): OutputSpec {
  const spec = so.specFor(format);
  if (isPromise(spec)) throw new Error('the regular expression engine was not loaded first');
  return spec;
}

beforeAll(async () => {
  await createStructuredOutput({ maxSchemaBytes: 2000, cacheSize: 1 }).specFor({ type: 'json_object', schema: { pattern: '^a$' } });
});

describe('the regular expression engine', () => {
  it('is loaded with the first schema that has a pattern, and answers at once after', async () => {
    // Loaded by beforeAll in this file; a fresh module would answer that first one with a promise.
    const so = createStructuredOutput({ maxSchemaBytes: 2000, cacheSize: 1 });
    expect(isPromise(so.specFor({ type: 'json_object', schema: { type: 'string', pattern: '^b$' } }))).toBe(false);
  });
});

const so = createStructuredOutput({ maxSchemaBytes: 2000, cacheSize: 2 });
const schema = { type: 'object', required: ['a'], properties: { a: { type: 'integer' } }, additionalProperties: false };

describe('structured output', () => {
  it('text needs no check', () => {
    expect(specOf(so, undefined).kind).toBe('text');
    expect(specOf(so, { type: 'text' }).kind).toBe('text');
  });

  const cases: Array<[string, string, boolean]> = [
    ['valid', '{"a": 1}', true],
    ['wrong type', '{"a": "1"}', false],
    ['missing field', '{}', false],
    ['extra field', '{"a": 1, "b": 2}', false],
    ['prose around JSON', 'Sure! {"a": 1}', false],
    ['truncated', '{"a": 1', false],
  ];
  it.each(cases)('json_schema: %s', (_n, text, ok) => {
    const spec = specOf(so, { type: 'json_schema', json_schema: { name: 's', schema } });
    expect(so.check(spec, text).ok).toBe(ok);
  });

  it("the article's json_object + schema form validates too", () => {
    const spec = specOf(so, { type: 'json_object', schema });
    expect(so.check(spec, '{"a": 2}').ok).toBe(true);
    expect(so.check(spec, '{"a": 2.5}')).toEqual({ ok: false, error: '/a must be integer' });
  });

  it('plain json_object wants an object, never finish_reason trust', () => {
    const spec = specOf(so, { type: 'json_object' });
    expect(so.check(spec, '{"x": [1]}').ok).toBe(true);
    expect(so.check(spec, '[1, 2]').ok).toBe(false);
    expect(so.check(spec, '"str"').ok).toBe(false);
  });

  it('a schema over the size limit is a 422 naming the field', () => {
    const big = { type: 'object', properties: { a: { enum: Array.from({ length: 500 }, (_, i) => `value-${i}`) } } };
    try {
      specOf(so, { type: 'json_schema', json_schema: { name: 'big', schema: big } });
      expect.unreachable();
    } catch (err) {
      expect(isGatewayError(err) && err.status).toBe(422);
      expect((err as Error).message).toMatch(/response_format.json_schema.schema: the schema is \d+ bytes/);
    }
  });

  it('a schema that does not compile is a 422, and so is a remote ref', () => {
    for (const bad of [{ type: 'strin' }, { properties: { a: { $ref: '#/nope' } } }]) {
      expect(() => specOf(so, { type: 'json_object', schema: bad })).toThrow(/not a usable JSON Schema/);
    }
    expect(() => specOf(so, { type: 'json_object', schema: { $ref: 'https://example.com/schema.json' } })).toThrow(/'\$ref' must point inside the schema/);
  });

  it('json_object wants an object even when its schema would take anything else', () => {
    const spec = specOf(so, { type: 'json_object', schema: { required: ['answer'], properties: { answer: { type: 'string' } } } });
    for (const text of ['"I cannot help with that"', '42', '[1, 2]', 'null']) expect(so.check(spec, text)).toEqual({ ok: false, error: 'not a JSON object' });
    expect(so.check(spec, '{"answer": "yes"}').ok).toBe(true);
    // json_schema: the schema decides.
    const any = specOf(so, { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'integer' } } });
    expect(so.check(any, '42').ok).toBe(true);
  });

  it('the same schema in another key order is the same schema (hash and compiled validator)', () => {
    const a = specOf(so, { type: 'json_object', schema: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } } });
    const b = specOf(so, { type: 'json_object', schema: { properties: { a: { type: 'integer' } }, required: ['a'], type: 'object' } });
    expect(a.kind === 'json' && b.kind === 'json' && a.schemaHash === b.schemaHash && a.validate === b.validate).toBe(true);
  });

  it('compiles each schema once (same spec object back from the cache)', () => {
    const a = specOf(so, { type: 'json_object', schema });
    const b = specOf(so, { type: 'json_object', schema: JSON.parse(JSON.stringify(schema)) });
    expect(a.kind === 'json' && b.kind === 'json' && a.validate === b.validate).toBe(true);
  });
});

describe('hostile schemas', () => {
  it('a deeply nested schema is refused before compiling, quickly', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 120; i++) deep = { type: 'object', properties: { a: deep }, required: ['a'] };
    const started = performance.now();
    expect(() => specOf(createStructuredOutput({ maxSchemaBytes: 65536, cacheSize: 2 }), { type: 'json_object', schema: deep })).toThrow(/nests \d+ levels deep/);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('hostile schemas: bounded work, nothing shared between callers', () => {
  const fresh = (options: Partial<Parameters<typeof createStructuredOutput>[0]> = {}) => createStructuredOutput({ maxSchemaBytes: 65536, cacheSize: 4, ...options });
  const props = (n: number, f: (i: number) => unknown = () => ({ type: 'string' })) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, f(i)]));

  it("a pattern that makes a backtracking engine explode is matched in linear time", () => {
    const spec = specOf(fresh(), { type: 'json_object', schema: { type: 'object', properties: { a: { type: 'string', pattern: '^(\\D+)+\\d$' } } } });
    const started = performance.now();
    // V8's own engine took seconds at 26 characters and doubles with each one more.
    expect(fresh().check(spec, JSON.stringify({ a: 'a'.repeat(5000) }))).toMatchObject({ ok: false });
    expect(performance.now() - started).toBeLessThan(500);
    expect(fresh().check(spec, JSON.stringify({ a: 'abc1' })).ok).toBe(true);
  });

  it('patterns keep their JSON Schema meaning (unanchored search, unicode classes, patternProperties)', () => {
    const so2 = fresh();
    const spec = specOf(so2, {
      type: 'json_object',
      schema: { type: 'object', properties: { code: { type: 'string', pattern: '[0-9]{3}' }, name: { type: 'string', pattern: '^\\p{L}+$' } }, patternProperties: { '^x-': { type: 'integer' } } },
    });
    expect(so2.check(spec, '{"code": "ab123cd", "name": "Hélène", "x-n": 1}').ok).toBe(true);
    expect(so2.check(spec, '{"code": "ab12cd"}').ok).toBe(false);
    expect(so2.check(spec, '{"name": "Hé1"}').ok).toBe(false);
    expect(so2.check(spec, '{"x-n": "one"}').ok).toBe(false);
  });

  it('a pattern only a backtracking engine can run (lookahead) is a 422 naming the field', () => {
    expect(() => specOf(fresh(), { type: 'json_object', schema: { type: 'string', pattern: '^(?=a)a$' } })).toThrow(/response_format.schema: not a usable JSON Schema/);
  });

  it('many $refs to one large definition compile in bounded time (refs are not inlined)', () => {
    const schema = { $defs: { x: { type: 'object', properties: props(50), required: Object.keys(props(50)) } }, allOf: Array.from({ length: 200 }, () => ({ $ref: '#/$defs/x' })) };
    const started = performance.now();
    const spec = specOf(fresh({ compileBudgetMsPerSecond: 60_000 }), { type: 'json_object', schema });
    // Inlined, this took 4 s here; the bound leaves room for a slow CI machine.
    expect(performance.now() - started).toBeLessThan(1500);
    expect(spec.kind).toBe('json');
  });

  it('a schema with more objects and arrays than allowed is refused before compiling', () => {
    expect(() => specOf(fresh({ maxSchemaNodes: 100 }), { type: 'json_object', schema: { type: 'object', properties: props(100) } })).toThrow(/102 objects and arrays, over the limit of 100/);
  });

  it("refuses $id and $anchor, which Ajv would share between callers, but not properties of those names", () => {
    const so2 = fresh();
    for (const [schema, keyword] of [
      [{ properties: { a: { $id: 'http://evil/x', type: 'string' } } }, '$id'],
      [{ $defs: { a: { $anchor: 'here' } } }, '$anchor'],
      [{ $dynamicAnchor: 'meta' }, '$dynamicAnchor'],
    ] as const) {
      expect(() => specOf(so2, { type: 'json_object', schema }), keyword).toThrow(new RegExp(`'\\${keyword}' is not accepted`));
    }
    const spec = specOf(so2, { type: 'json_object', schema: { type: 'object', properties: { $id: { type: 'string' } }, required: ['$id'] } });
    expect(so2.check(spec, '{"$id": "x"}').ok).toBe(true);
  });

  it('forgets a schema in Ajv too when the cache drops it: memory stays bounded by the cache size', () => {
    const so2 = fresh({ cacheSize: 4 });
    // Ajv's own meta-schemas.
    const meta = so2.schemasHeld();
    for (let i = 0; i < 50; i++) specOf(so2, { type: 'json_object', schema: { type: 'object', properties: { [`p${i}`]: { type: 'integer' } } } });
    expect(so2.schemasHeld()).toBe(meta + 4);
    // Nor does a schema that fails to compile stay behind.
    for (let i = 0; i < 50; i++) expect(() => specOf(so2, { type: 'json_object', schema: { type: `strin${i}` } })).toThrow(/not a usable JSON Schema/);
    expect(so2.schemasHeld()).toBe(meta + 4);
  });

  it('past its compile budget for the second, a new schema is a 503 to retry; known schemas still pass', () => {
    let t = 0;
    // Each compile "takes" 6 ms on this clock (it is read before and after).
    const timed = fresh({ compileBudgetMsPerSecond: 10, now: () => (t += 6) });
    const known = { type: 'object', properties: { a: { type: 'integer' } } };
    specOf(timed, { type: 'json_object', schema: known });
    specOf(timed, { type: 'json_object', schema: { type: 'object', properties: { b: { type: 'integer' } } } });
    const third = { type: 'object', properties: { c: { type: 'integer' } } };
    let refused: unknown;
    try {
      specOf(timed, { type: 'json_object', schema: third });
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({ code: 'bulkhead_rejected', status: 503, retryable: true, retryAfterMs: 1000 });
    expect(specOf(timed, { type: 'json_object', schema: known }).kind).toBe('json');
    t += 1000;
    expect(specOf(timed, { type: 'json_object', schema: third }).kind).toBe('json');
  });
});
