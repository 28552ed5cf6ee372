// A small JSON Schema -> fast-check converter, enough for the contract's request
// schemas (type, enum, const, anyOf/oneOf, $ref, properties/required,
// min/max bounds, patterns). Lengths and counts are capped so generated bodies
// stay small: the point is shape coverage, not size (sizes have their own cases).
import fc, { type Arbitrary } from 'fast-check';

export type Schema = Record<string, unknown>;

export interface ConvertOptions {
  /** The document `$ref`s point into (`#/components/schemas/X`). */
  root: Schema;
  /** Replace the arbitrary for a named component (the last segment of a `$ref`). */
  overrides?: Record<string, Arbitrary<unknown>>;
  /** Cap for generated strings (default 24) and arrays (default 3). */
  maxStringLength?: number;
  maxItems?: number;
}

const DEFAULT_MAX_STRING = 24;
const DEFAULT_MAX_ITEMS = 3;

export function arbitraryFor(schema: Schema, options: ConvertOptions): Arbitrary<unknown> {
  const maxString = options.maxStringLength ?? DEFAULT_MAX_STRING;
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;

  const convert = (s: Schema): Arbitrary<unknown> => {
    if (typeof s.$ref === 'string') {
      const name = s.$ref.split('/').at(-1)!;
      const override = options.overrides?.[name];
      return override ?? fc.constant(null).chain(() => convert(resolve(options.root, s.$ref as string)));
    }
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    const alternatives = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
    if (alternatives) {
      // Objects with oneOf + shared keys (discriminator): the branch carries the shape.
      return fc.oneof(...alternatives.map(convert));
    }
    const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
    if (types.length > 1) return fc.oneof(...types.map((t) => convert({ ...s, type: t })));
    switch (types[0]) {
      case 'string': {
        if (typeof s.pattern === 'string') return fc.stringMatching(new RegExp(s.pattern));
        const min = (s.minLength as number | undefined) ?? 0;
        return fc.string({ minLength: min, maxLength: Math.max(min, Math.min((s.maxLength as number | undefined) ?? maxString, maxString)), unit: 'grapheme' });
      }
      case 'integer':
        return fc.integer({ min: (s.minimum as number | undefined) ?? -(2 ** 31), max: Math.min((s.maximum as number | undefined) ?? 2 ** 31, 2 ** 31) });
      case 'number':
        return fc.double({ min: (s.minimum as number | undefined) ?? -1e9, max: (s.maximum as number | undefined) ?? 1e9, noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const min = (s.minItems as number | undefined) ?? 0;
        const max = Math.max(min, Math.min((s.maxItems as number | undefined) ?? maxItems, maxItems));
        return fc.array(s.items ? convert(s.items as Schema) : fc.jsonValue({ maxDepth: 1 }), { minLength: min, maxLength: max });
      }
      case 'object':
      default: {
        const properties = (s.properties ?? {}) as Record<string, Schema>;
        const required = (s.required ?? []) as string[];
        const shape: Record<string, Arbitrary<unknown>> = {};
        for (const [key, sub] of Object.entries(properties)) shape[key] = convert(sub);
        return fc.record(shape, { requiredKeys: required.filter((k) => k in properties) });
      }
    }
  };
  return convert(schema);
}

/** Resolves a local `$ref` (`#/a/b`) in `root`. */
export function resolve(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  return node as Schema;
}
