import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateInstance, generateViolation, type JsonSchema } from './schema-instance.ts';

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => void;

function compile(schema: JsonSchema) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema as object);
}

const ADDRESS = {
  type: 'object',
  properties: { street: { type: 'string', minLength: 3 }, zip: { type: 'string', maxLength: 5 } },
  required: ['street'],
  additionalProperties: false,
};

const SCHEMAS: ReadonlyArray<readonly [string, JsonSchema]> = [
  ['string', { type: 'string' }],
  ['string bounds', { type: 'string', minLength: 40, maxLength: 45 }],
  ['formats', {
    type: 'object',
    properties: {
      at: { type: 'string', format: 'date-time' },
      day: { type: 'string', format: 'date' },
      mail: { type: 'string', format: 'email' },
      link: { type: 'string', format: 'uri' },
      id: { type: 'string', format: 'uuid' },
      ip: { type: 'string', format: 'ipv4' },
    },
    required: ['at', 'day', 'mail', 'link', 'id', 'ip'],
  }],
  ['integer range', { type: 'integer', minimum: 3, maximum: 7 }],
  ['exclusive number', { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }],
  ['minimum only', { type: 'number', minimum: 1000 }],
  ['maximum only', { type: 'integer', maximum: -50 }],
  ['multipleOf', { type: 'number', minimum: 1, maximum: 10, multipleOf: 0.5 }],
  ['boolean', { type: 'boolean' }],
  ['null', { type: 'null' }],
  ['enum', { enum: ['low', 'medium', 'high'] }],
  ['const', { const: { fixed: [1, 2] } }],
  ['nullable type array', { type: ['string', 'null'], minLength: 2 }],
  ['anyOf', { anyOf: [{ type: 'integer', minimum: 5 }, { type: 'string' }] }],
  ['oneOf objects', { oneOf: [{ type: 'object', properties: { kind: { const: 'a' } }, required: ['kind'] }, { type: 'string' }] }],
  ['allOf', { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'integer' } }, required: ['b'] }] }],
  ['array minItems', { type: 'array', items: { type: 'integer', minimum: 0, maximum: 3 }, minItems: 5 }],
  ['array maxItems 1', { type: 'array', items: { type: 'string' }, maxItems: 1 }],
  ['uniqueItems', { type: 'array', items: { enum: ['x', 'y', 'z'] }, minItems: 3, uniqueItems: true }],
  ['tuple', { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false }],
  ['$defs ref', { $defs: { address: ADDRESS }, type: 'object', properties: { home: { $ref: '#/$defs/address' } }, required: ['home'] }],
  ['definitions ref', { definitions: { address: ADDRESS }, $ref: '#/definitions/address' }],
  ['recursive ref', {
    $defs: { node: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } }, required: ['name'] } },
    $ref: '#/$defs/node',
  }],
  ['required without property schema', { type: 'object', required: ['x'], minProperties: 3 }],
  ['additionalProperties schema', { type: 'object', additionalProperties: { type: 'integer' }, minProperties: 2 }],
  ['article answer', {
    type: 'object',
    properties: {
      answer: { type: 'string' },
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      sources: { type: 'array', items: { type: 'string', format: 'uri' }, minItems: 1 },
      category: { type: 'string', enum: ['pricing', 'support', 'other'] },
      follow_up: { type: ['string', 'null'] },
    },
    required: ['answer', 'confidence', 'sources', 'category', 'follow_up'],
    additionalProperties: false,
  }],
  ['any', {}],
];

describe('generateInstance', () => {
  it.each(SCHEMAS)('fits the %s schema', (_name, schema) => {
    const validate = compile(schema);
    for (let seed = 0; seed < 25; seed++) {
      const value = generateInstance(schema, seed);
      expect(validate(value), JSON.stringify({ value, errors: validate.errors })).toBe(true);
    }
  });

  it('is deterministic per seed', () => {
    const schema = SCHEMAS.find(([name]) => name === 'article answer')![1];
    expect(generateInstance(schema, 11)).toEqual(generateInstance(schema, 11));
  });

  it('fits integer ranges for any bounds (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 500 }), fc.nat(), (min, width, seed) => {
        const value = generateInstance({ type: 'integer', minimum: min, maximum: min + width }, seed) as number;
        return Number.isInteger(value) && value >= min && value <= min + width;
      }),
    );
  });

  it('rejects an unresolvable $ref with a clear message', () => {
    expect(() => generateInstance({ $ref: '#/$defs/missing' }, 1)).toThrow(/unresolvable \$ref "#\/\$defs\/missing"/);
    expect(() => generateInstance({ $ref: 'https://example.com/schema' }, 1)).toThrow(/only local references/);
  });
});

describe('generateViolation', () => {
  const violable = SCHEMAS.filter(([name]) => name !== 'any');
  it.each(violable)('breaks the %s schema with valid JSON', (_name, schema) => {
    const validate = compile(schema);
    for (let seed = 0; seed < 10; seed++) {
      const value = generateViolation(schema, seed);
      expect(JSON.parse(JSON.stringify(value))).toEqual(value);
      expect(validate(value), JSON.stringify(value)).toBe(false);
    }
  });

  it('breaks plain json_object mode with a non-object', () => {
    expect(Array.isArray(generateViolation(undefined, 1))).toBe(true);
  });
});

describe('bounded sizes', () => {
  it('a hostile minItems or minLength does not wedge generation', async () => {
    const { generateInstance } = await import('./schema-instance.ts');
    const started = performance.now();
    const value = generateInstance({ type: 'object', properties: { a: { type: 'array', minItems: 1e9, items: { type: 'integer' } }, s: { type: 'string', minLength: 1e9 } }, required: ['a', 's'] }, 1) as { a: unknown[]; s: string };
    expect(value.a.length).toBeLessThanOrEqual(1000);
    expect(value.s.length).toBeLessThanOrEqual(100_100);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
