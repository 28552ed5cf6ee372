import { describe, expect, it } from 'vitest';
import { isGatewayError } from '@llmgw/resilience';
import { createStructuredOutput } from './structured-output.ts';

const so = createStructuredOutput({ maxSchemaBytes: 2000, cacheSize: 2 });
const schema = { type: 'object', required: ['a'], properties: { a: { type: 'integer' } }, additionalProperties: false };

describe('structured output', () => {
  it('text needs no check', () => {
    expect(so.specFor(undefined).kind).toBe('text');
    expect(so.specFor({ type: 'text' }).kind).toBe('text');
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
    const spec = so.specFor({ type: 'json_schema', json_schema: { name: 's', schema } });
    expect(so.check(spec, text).ok).toBe(ok);
  });

  it("the article's json_object + schema form validates too", () => {
    const spec = so.specFor({ type: 'json_object', schema });
    expect(so.check(spec, '{"a": 2}').ok).toBe(true);
    expect(so.check(spec, '{"a": 2.5}')).toEqual({ ok: false, error: '/a must be integer' });
  });

  it('plain json_object wants an object, never finish_reason trust', () => {
    const spec = so.specFor({ type: 'json_object' });
    expect(so.check(spec, '{"x": [1]}').ok).toBe(true);
    expect(so.check(spec, '[1, 2]').ok).toBe(false);
    expect(so.check(spec, '"str"').ok).toBe(false);
  });

  it('a schema over the size limit is a 422 naming the field', () => {
    const big = { type: 'object', properties: { a: { enum: Array.from({ length: 500 }, (_, i) => `value-${i}`) } } };
    try {
      so.specFor({ type: 'json_schema', json_schema: { name: 'big', schema: big } });
      expect.unreachable();
    } catch (err) {
      expect(isGatewayError(err) && err.status).toBe(422);
      expect((err as Error).message).toMatch(/response_format.json_schema.schema: the schema is \d+ bytes/);
    }
  });

  it('a schema that does not compile is a 422, including remote refs', () => {
    for (const bad of [{ type: 'strin' }, { $ref: 'https://example.com/schema.json' }, { properties: { a: { $ref: '#/nope' } } }]) {
      expect(() => so.specFor({ type: 'json_object', schema: bad })).toThrow(/not a usable JSON Schema/);
    }
  });

  it('the same schema in another key order is the same schema (hash and compiled validator)', () => {
    const a = so.specFor({ type: 'json_object', schema: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } } });
    const b = so.specFor({ type: 'json_object', schema: { properties: { a: { type: 'integer' } }, required: ['a'], type: 'object' } });
    expect(a.kind === 'json' && b.kind === 'json' && a.schemaHash === b.schemaHash && a.validate === b.validate).toBe(true);
  });

  it('compiles each schema once (same spec object back from the cache)', () => {
    const a = so.specFor({ type: 'json_object', schema });
    const b = so.specFor({ type: 'json_object', schema: JSON.parse(JSON.stringify(schema)) });
    expect(a.kind === 'json' && b.kind === 'json' && a.validate === b.validate).toBe(true);
  });
});

describe('hostile schemas', () => {
  it('a deeply nested schema is refused before compiling, quickly', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 120; i++) deep = { type: 'object', properties: { a: deep }, required: ['a'] };
    const started = performance.now();
    expect(() => createStructuredOutput({ maxSchemaBytes: 65536, cacheSize: 2 }).specFor({ type: 'json_object', schema: deep })).toThrow(/nests \d+ levels deep/);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
