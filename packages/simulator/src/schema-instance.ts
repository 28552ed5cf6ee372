/**
 * A small JSON Schema instance generator: given a schema, produce a value that
 * fits it (and, for the `schema_violation` fault, a value that does not).
 *
 * Supported: type (single or array, `null` allowed), object properties /
 * required / additionalProperties / minProperties, array items / prefixItems /
 * minItems / maxItems / uniqueItems, string enum / const / minLength /
 * maxLength / format (date-time, date, time, email, uri, uuid, hostname,
 * ipv4, ipv6), number / integer minimum / maximum / exclusive bounds /
 * multipleOf, boolean, null, enum, const, anyOf / oneOf (first branch),
 * allOf (merged), $ref to #/$defs, #/definitions or any local JSON pointer.
 * Not supported (documented): pattern, if/then/else, not, dependent schemas.
 */
import { createRandom, pick, randomInt, type Random } from './random.ts';
import { generatePhrase, generateWord } from './text.ts';

export type JsonSchema = boolean | { readonly [key: string]: unknown };
type SchemaObject = { readonly [key: string]: unknown };

/** Recursion guard: past this depth only required members are generated. */
const MAX_DEPTH = 8;
/** Upper bounds on generated sizes, whatever a schema asks (hostile schemas must not wedge the server). */
const MAX_GENERATED_ITEMS = 1000;
const MAX_GENERATED_LENGTH = 100_000;

/** Arrays get this many items unless minItems/maxItems say otherwise. */
const DEFAULT_ARRAY_ITEMS = 2;
/** Numbers are drawn from this range unless the schema narrows it. */
const DEFAULT_NUMBER_RANGE = { min: 0, max: 100 } as const;

interface Context {
  readonly root: JsonSchema;
  readonly random: Random;
}

export function generateInstance(schema: JsonSchema, seed: number): unknown {
  return generate(schema, { root: schema, random: createRandom(seed) }, 0);
}

function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolve a local `$ref` ("#", "#/$defs/X", "#/definitions/X", any "#/a/b" pointer). */
export function resolveRef(ref: string, root: JsonSchema): JsonSchema {
  if (!ref.startsWith('#')) throw new Error(`unsupported $ref "${ref}": only local references (#/...) are supported`);
  let node: unknown = root;
  const path = ref.slice(1);
  if (path === '') return root;
  for (const raw of path.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) && !Array.isArray(node)) throw new Error(`unresolvable $ref "${ref}"`);
    node = (node as Record<string, unknown>)[key];
  }
  if (node === undefined || (typeof node !== 'boolean' && !isObject(node))) throw new Error(`unresolvable $ref "${ref}"`);
  return node as JsonSchema;
}

/** Follow `$ref`s and fold `allOf` / first `anyOf` / first `oneOf` branch into one schema. */
function flatten(schema: JsonSchema, root: JsonSchema, guard = 0): JsonSchema {
  if (!isObject(schema) || guard > 32) return schema;
  let current: SchemaObject = schema;
  if (typeof current['$ref'] === 'string') {
    const { $ref, ...rest } = current;
    const target = flatten(resolveRef($ref as string, root), root, guard + 1);
    if (!isObject(target)) return target;
    current = merge(target, rest);
  }
  if (Array.isArray(current['allOf'])) {
    const { allOf, ...rest } = current;
    let merged: SchemaObject = rest;
    for (const part of allOf as JsonSchema[]) {
      const flat = flatten(part, root, guard + 1);
      if (isObject(flat)) merged = merge(merged, flat);
    }
    current = merged;
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = current[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const { [key]: _drop, ...rest } = current;
      const first = flatten(branches[0] as JsonSchema, root, guard + 1);
      if (!isObject(first)) return first;
      current = merge(rest, first);
    }
  }
  return current;
}

/** Shallow merge that unions `properties` and `required` (enough for allOf / branch folding). */
function merge(a: SchemaObject, b: SchemaObject): SchemaObject {
  const out: Record<string, unknown> = { ...a, ...b };
  if (isObject(a['properties']) && isObject(b['properties'])) {
    out['properties'] = { ...a['properties'], ...b['properties'] };
  }
  if (Array.isArray(a['required']) && Array.isArray(b['required'])) {
    out['required'] = [...new Set([...(a['required'] as string[]), ...(b['required'] as string[])])];
  }
  return out;
}

type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

/** The type to generate: the first non-null declared type, else inferred from keywords. */
function chooseType(schema: SchemaObject): JsonType {
  const declared = schema['type'];
  if (typeof declared === 'string') return declared as JsonType;
  if (Array.isArray(declared)) {
    const nonNull = declared.find((t) => t !== 'null');
    return (nonNull ?? 'null') as JsonType;
  }
  if ('properties' in schema || 'required' in schema || 'additionalProperties' in schema) return 'object';
  if ('items' in schema || 'prefixItems' in schema || 'minItems' in schema) return 'array';
  if ('minimum' in schema || 'maximum' in schema || 'multipleOf' in schema) return 'number';
  return 'string';
}

function generate(input: JsonSchema, ctx: Context, depth: number): unknown {
  const schema = flatten(input, ctx.root);
  if (schema === true) return generatePhrase(ctx.random);
  if (schema === false) return null; // unsatisfiable: nothing fits, null is as good as anything
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return pick(ctx.random, schema['enum']);
  switch (chooseType(schema)) {
    case 'object':
      return generateObject(schema, ctx, depth);
    case 'array':
      return generateArray(schema, ctx, depth);
    case 'number':
      return generateNumber(schema, ctx, false);
    case 'integer':
      return generateNumber(schema, ctx, true);
    case 'boolean':
      return ctx.random() < 0.5;
    case 'null':
      return null;
    default:
      return generateString(schema, ctx);
  }
}

function generateObject(schema: SchemaObject, ctx: Context, depth: number): Record<string, unknown> {
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  const out: Record<string, unknown> = {};
  for (const [name, propSchema] of Object.entries(properties)) {
    if (depth >= MAX_DEPTH && !required.has(name)) continue;
    out[name] = generate(propSchema as JsonSchema, ctx, depth + 1);
  }
  const additional = schema['additionalProperties'];
  const extraSchema: JsonSchema = additional === undefined ? true : (additional as JsonSchema);
  // Required names without a property schema, then extras up to minProperties.
  for (const name of required) {
    if (!(name in out)) out[name] = generate(extraSchema === false ? true : extraSchema, ctx, depth + 1);
  }
  const minProperties = typeof schema['minProperties'] === 'number' ? schema['minProperties'] : 0;
  for (let i = 1; Object.keys(out).length < minProperties && extraSchema !== false; i++) {
    out[`extra_${i}`] = generate(extraSchema, ctx, depth + 1);
  }
  return out;
}

function generateArray(schema: SchemaObject, ctx: Context, depth: number): unknown[] {
  // Bounded: a hostile minItems (1e9) must not wedge the simulator; the answer then simply fails validation.
  const minItems = typeof schema['minItems'] === 'number' ? Math.min(schema['minItems'], MAX_GENERATED_ITEMS) : 0;
  const maxItems = typeof schema['maxItems'] === 'number' ? schema['maxItems'] : Infinity;
  const wanted = depth >= MAX_DEPTH ? minItems : Math.max(minItems, Math.min(DEFAULT_ARRAY_ITEMS, maxItems));
  const prefix = Array.isArray(schema['prefixItems']) ? (schema['prefixItems'] as JsonSchema[]) : [];
  const items = (schema['items'] ?? true) as JsonSchema;
  const count = items === false ? Math.min(wanted, prefix.length) : Math.max(wanted, Math.min(prefix.length, maxItems));
  const out: unknown[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const itemSchema = i < prefix.length ? prefix[i]! : items;
    let value = generate(itemSchema, ctx, depth + 1);
    if (schema['uniqueItems'] === true) {
      // Retry a few draws so that enum/boolean items do not collide.
      for (let tries = 0; seen.has(JSON.stringify(value)) && tries < 16; tries++) value = generate(itemSchema, ctx, depth + 1);
      const key = JSON.stringify(value);
      if (seen.has(key) && i >= minItems) break;
      seen.add(key);
    }
    out.push(value);
  }
  return out;
}

const FORMAT_VALUES: Readonly<Record<string, (random: Random) => string>> = {
  'date-time': (r) => `2024-0${randomInt(r, 1, 9)}-1${randomInt(r, 0, 9)}T1${randomInt(r, 0, 9)}:${randomInt(r, 10, 59)}:00Z`,
  date: (r) => `2024-0${randomInt(r, 1, 9)}-1${randomInt(r, 0, 9)}`,
  time: (r) => `1${randomInt(r, 0, 9)}:${randomInt(r, 10, 59)}:00Z`,
  email: (r) => `${generateWord(r)}@example.com`,
  uri: (r) => `https://example.com/${generateWord(r)}`,
  url: (r) => `https://example.com/${generateWord(r)}`,
  'uri-reference': (r) => `/${generateWord(r)}`,
  uuid: (r) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`,
  hostname: (r) => `${generateWord(r)}.example.com`,
  ipv4: (r) => `192.0.2.${randomInt(r, 1, 254)}`,
  ipv6: (r) => `2001:db8::${randomInt(r, 1, 9999)}`,
};

function hex(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

function generateString(schema: SchemaObject, ctx: Context): string {
  const format = typeof schema['format'] === 'string' ? FORMAT_VALUES[schema['format']] : undefined;
  if (format) return format(ctx.random);
  let text = generatePhrase(ctx.random);
  const minLength = typeof schema['minLength'] === 'number' ? Math.min(schema['minLength'], MAX_GENERATED_LENGTH) : 0;
  while (text.length < minLength) text += ` ${generateWord(ctx.random)}`;
  if (typeof schema['maxLength'] === 'number' && text.length > schema['maxLength']) {
    text = text.slice(0, schema['maxLength']);
  }
  return text;
}

function generateNumber(schema: SchemaObject, ctx: Context, integer: boolean): number {
  const step = integer ? 1 : 0.01;
  const lows: number[] = [];
  const highs: number[] = [];
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = schema;
  if (typeof minimum === 'number') lows.push(minimum);
  if (typeof exclusiveMinimum === 'number') lows.push(exclusiveMinimum + step);
  if (typeof maximum === 'number') highs.push(maximum);
  if (typeof exclusiveMaximum === 'number') highs.push(exclusiveMaximum - step);
  const span = DEFAULT_NUMBER_RANGE.max - DEFAULT_NUMBER_RANGE.min;
  // Keep the default range next to whichever bound was given.
  let lo = lows.length > 0 ? Math.max(...lows) : highs.length > 0 ? Math.min(...highs) - span : DEFAULT_NUMBER_RANGE.min;
  let hi = highs.length > 0 ? Math.min(...highs) : lo + span;
  if (integer) {
    lo = Math.ceil(lo);
    hi = Math.floor(hi);
  }
  if (hi < lo) hi = lo;
  if (typeof multipleOf === 'number' && multipleOf > 0) {
    const kMin = Math.ceil(lo / multipleOf);
    const kMax = Math.floor(hi / multipleOf);
    const k = kMax >= kMin ? randomInt(ctx.random, kMin, kMax) : kMin;
    return Number((k * multipleOf).toPrecision(12));
  }
  const raw = lo + ctx.random() * (hi - lo);
  const rounded = integer ? Math.round(raw) : Math.round(raw * 100) / 100;
  return Math.min(hi, Math.max(lo, rounded));
}

// ---- violations -------------------------------------------------------------

const WRONG_TYPE_CANDIDATES: ReadonlyArray<readonly [JsonType, unknown]> = [
  ['string', 'not the expected type'],
  ['number', 1.5],
  ['boolean', true],
  ['object', { unexpected: true }],
  ['array', ['unexpected']],
  ['null', null],
];

const NOT_IN_ENUM = '__value_outside_the_enum__';

/** A value whose JSON type is not allowed by `schema`, if the schema restricts types. */
function wrongTypeValue(schema: SchemaObject): { value: unknown } | undefined {
  if (Array.isArray(schema['enum'])) {
    return schema['enum'].includes(NOT_IN_ENUM) ? undefined : { value: NOT_IN_ENUM };
  }
  if ('const' in schema) return { value: schema['const'] === NOT_IN_ENUM ? 0 : NOT_IN_ENUM };
  const declared = schema['type'];
  const types = typeof declared === 'string' ? [declared] : Array.isArray(declared) ? (declared as string[]) : undefined;
  if (!types) return undefined;
  for (const [type, value] of WRONG_TYPE_CANDIDATES) {
    if (!types.includes(type)) return { value };
  }
  return undefined;
}

/** The anyOf / oneOf branches of the (dereferenced) root, if it has any. */
function topLevelBranches(input: JsonSchema): SchemaObject[] | undefined {
  let schema: JsonSchema = input;
  for (let guard = 0; isObject(schema) && typeof schema['$ref'] === 'string' && guard < 32; guard++) {
    schema = resolveRef(schema['$ref'] as string, input);
  }
  if (!isObject(schema)) return undefined;
  const list = (schema['anyOf'] ?? schema['oneOf']) as unknown;
  if (!Array.isArray(list)) return undefined;
  return list.map((branch) => flatten(branch as JsonSchema, input)).filter(isObject);
}

function wrongTypeForAll(branches: readonly SchemaObject[]): { value: unknown } | undefined {
  for (const [, value] of WRONG_TYPE_CANDIDATES) {
    if (branches.every((branch) => wrongTypeValue(branch) !== undefined && !acceptsType(branch, value))) return { value };
  }
  return undefined;
}

/** Whether a schema's type / enum / const admits `value` (only those keywords are considered). */
function acceptsType(schema: SchemaObject, value: unknown): boolean {
  if (Array.isArray(schema['enum'])) return schema['enum'].some((e) => JSON.stringify(e) === JSON.stringify(value));
  if ('const' in schema) return JSON.stringify(schema['const']) === JSON.stringify(value);
  const declared = schema['type'];
  const types = typeof declared === 'string' ? [declared] : Array.isArray(declared) ? (declared as string[]) : undefined;
  if (!types) return true;
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (actual === 'number') return types.includes('number') || (types.includes('integer') && Number.isInteger(value));
  return types.includes(actual);
}

/**
 * Valid JSON that breaks the schema: drop a required property, give a
 * property the wrong type, add a forbidden extra property, or give the whole
 * value the wrong type. Falls back to a non-object when the schema allows anything.
 */
export function generateViolation(input: JsonSchema | undefined, seed: number): unknown {
  if (input === undefined) return ['not', 'an', 'object']; // json_object mode: the contract is "an object"
  const branches = topLevelBranches(input);
  if (branches) {
    // A value must miss every branch: pick a type none of them allows.
    const merged = wrongTypeForAll(branches);
    if (merged) return merged.value;
  }
  const schema = flatten(input, input);
  if (!isObject(schema)) return ['not', 'valid'];
  if (chooseType(schema) === 'object' && !('const' in schema) && !Array.isArray(schema['enum'])) {
    const valid = generateInstance(schema, seed) as Record<string, unknown>;
    const required = Array.isArray(schema['required']) ? (schema['required'] as string[]) : [];
    if (required.length > 0) {
      delete valid[required[0]!];
      return valid;
    }
    const properties = isObject(schema['properties']) ? schema['properties'] : {};
    for (const [name, propSchema] of Object.entries(properties)) {
      const flat = flatten(propSchema as JsonSchema, input);
      const wrong = isObject(flat) ? wrongTypeValue(flat) : undefined;
      if (wrong) return { ...valid, [name]: wrong.value };
    }
    if (schema['additionalProperties'] === false) return { ...valid, unexpected_property: true };
  }
  return wrongTypeValue(schema)?.value ?? ['not', 'valid'];
}
