import { astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';
import type { Json } from './contract.ts';
import { generatedHeader, withHeader } from './header.ts';
import { stripDiscriminators, toAjvSchema, rewriteSchemaRefs } from './transforms.ts';
import { openEnumRef, openEnumTransform } from './types.ts';

const doc = {
  components: {
    schemas: {
      KnownModel: { type: 'string', enum: ['gpt-4o', 'gpt-4o-mini'] },
      NotEnum: { type: 'string' },
    },
  },
} as const satisfies Json;

describe('open enum transform', () => {
  const cases: Array<[string, { given: Json; want: string | undefined }]> = [
    ['ref to a string enum + plain string', { given: { anyOf: [{ $ref: '#/components/schemas/KnownModel' }, { type: 'string', minLength: 1 }] }, want: 'components["schemas"]["KnownModel"] | (string & Record<never, never>)' }],
    ['order matters: string first is not the pattern', { given: { anyOf: [{ type: 'string' }, { $ref: '#/components/schemas/KnownModel' }] }, want: undefined }],
    ['ref to a non-enum', { given: { anyOf: [{ $ref: '#/components/schemas/NotEnum' }, { type: 'string' }] }, want: undefined }],
    ['second branch restricted by enum', { given: { anyOf: [{ $ref: '#/components/schemas/KnownModel' }, { type: 'string', enum: ['x'] }] }, want: undefined }],
    ['nullable union is left alone', { given: { anyOf: [{ $ref: '#/components/schemas/KnownModel' }, { type: 'null' }] }, want: undefined }],
    ['three branches', { given: { anyOf: [{ $ref: '#/components/schemas/KnownModel' }, { type: 'string' }, { type: 'null' }] }, want: undefined }],
  ];
  it.each(cases)('%s', (_name, { given, want }) => {
    const transform = openEnumTransform(doc);
    const node = transform(given as never);
    expect(node === undefined ? undefined : astToString(node).trim()).toBe(want);
    expect(openEnumRef(given, doc) !== undefined).toBe(want !== undefined);
  });
});

describe('discriminator stripping', () => {
  const union = {
    type: 'object',
    required: ['type'],
    discriminator: { propertyName: 'type', mapping: { text: '#/components/schemas/Text' } },
    oneOf: [{ $ref: '#/components/schemas/Text' }],
  } as const satisfies Json;

  const cases: Array<[string, { given: Json; want: Json; fn: (s: Json) => Json }]> = [
    ['types: discriminator removed, the consts discriminate', { fn: stripDiscriminators, given: union, want: { type: 'object', required: ['type'], oneOf: [{ $ref: '#/components/schemas/Text' }] } }],
    ['types: a property named discriminator survives', { fn: stripDiscriminators, given: { type: 'object', properties: { discriminator: { type: 'string' } } }, want: { type: 'object', properties: { discriminator: { type: 'string' } } } }],
    [
      'ajv: mapping dropped, tag declared for strictRequired',
      { fn: toAjvSchema, given: union, want: { type: 'object', required: ['type'], discriminator: { propertyName: 'type' }, oneOf: [{ $ref: '#/components/schemas/Text' }], properties: { type: { type: 'string' } } } },
    ],
    ['ajv: type object added beside a discriminator', { fn: toAjvSchema, given: { discriminator: { propertyName: 'kind' }, oneOf: [] }, want: { discriminator: { propertyName: 'kind' }, oneOf: [], type: 'object' } }],
    [
      'ajv: examples, x-* and descriptions dropped; property names and const data kept',
      {
        fn: toAjvSchema,
        given: { type: 'object', description: 'd', example: { a: 1 }, 'x-llm-event-schema': { $ref: '#/x' }, properties: { example: { const: { description: 'kept', 'x-y': 1 } }, 'x-name': { type: 'string' } } },
        want: { type: 'object', properties: { example: { const: { description: 'kept', 'x-y': 1 } }, 'x-name': { type: 'string' } } },
      },
    ],
    ['refs rewritten to ids', { fn: (s) => rewriteSchemaRefs(s, (n) => `https://x/${n}`), given: { items: { $ref: '#/components/schemas/A' } }, want: { items: { $ref: 'https://x/A' } } }],
  ];
  it.each(cases)('%s', (_name, { fn, given, want }) => {
    const before = structuredClone(given);
    expect(fn(given)).toEqual(want);
    expect(given).toEqual(before); // pure: the input is not mutated
  });

  it('rejects references outside components.schemas', () => {
    expect(() => rewriteSchemaRefs({ $ref: '#/components/parameters/P' }, (n) => n)).toThrow('#/components/parameters/P');
  });
});

describe('generated header', () => {
  const sha256 = 'ab'.repeat(32);
  const cases: Array<[string, { given: string; want: string }]> = [
    ['prepends the header, one final newline', { given: 'export const a = 1;\n\n\n', want: `${generatedHeader({ sha256 })}\nexport const a = 1;\n` }],
    ['normalises CRLF', { given: 'a\r\nb', want: `${generatedHeader({ sha256 })}\na\nb\n` }],
  ];
  it.each(cases)('%s', (_name, { given, want }) => {
    expect(withHeader({ sha256 }, given)).toBe(want);
  });
  it('names the generator, the source, 16 hex of the hash and how to regenerate; no timestamp', () => {
    expect(generatedHeader({ sha256 })).toBe(
      '// Generated by tools/codegen from contracts/openapi.yaml (sha256:abababababababab). Do not edit: change the contract or the generator, then run npm run generate.',
    );
  });
});
