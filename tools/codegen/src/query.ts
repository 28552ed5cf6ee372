import { deref, isObject, type Json, type JsonObject } from './contract.ts';

/** What a query value's text becomes before validation: the JSON type its schema names. */
export type QueryScalar = 'string' | 'number' | 'boolean';

/** How the stub reads one query parameter. */
export interface QueryRead {
  readonly scalar: QueryScalar;
  /** `style: form, explode: true` array: every `name=value` pair of the key, in order. */
  readonly array: boolean;
  /** TypeScript type of the read (coerced) value. */
  readonly tsType: string;
}

const SCALARS: Readonly<Record<string, QueryScalar>> = { string: 'string', integer: 'number', number: 'number', boolean: 'boolean' };
const SUPPORTED = 'integer, number, boolean, string or an array of one of those';

function scalarTsType(schema: JsonObject, scalar: QueryScalar): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  return scalar;
}

function scalarOf(doc: JsonObject, raw: Json, at: string): { scalar: QueryScalar; tsType: string } {
  const schema = deref(doc, raw);
  const scalar = typeof schema.type === 'string' ? SCALARS[schema.type] : undefined;
  if (scalar === undefined) throw new Error(`${at}: query parameters must be ${SUPPORTED} with a single \`type\` (got type ${JSON.stringify(schema.type ?? null)})`);
  return { scalar, tsType: scalarTsType(schema, scalar) };
}

/**
 * How a query parameter (already dereferenced) is read, or why the stubs cannot read it. Only the
 * default serialisation is supported: `style: form`, arrays exploded (`?s=a&s=b`), since that is
 * what URLSearchParams, openapi-fetch and the stubs agree on without per-parameter settings.
 */
export function queryRead(doc: JsonObject, parameter: JsonObject, at: string): QueryRead {
  const name = String(parameter.name);
  if (parameter.schema === undefined) throw new Error(`${at}: query parameter ${name} needs a \`schema\` (\`content\` is not supported)`);
  if (parameter.style !== undefined && parameter.style !== 'form') {
    throw new Error(`${at}: query parameter ${name} has style ${JSON.stringify(parameter.style)}; only style: form (the default) is supported`);
  }
  const schema = deref(doc, parameter.schema);
  if (schema.type !== 'array') return { ...scalarOf(doc, parameter.schema, `${at} (${name})`), array: false };
  if (parameter.explode === false) throw new Error(`${at}: array query parameter ${name} has explode: false; only repeated keys (explode: true, the default) are supported`);
  if (!isObject(schema.items)) throw new Error(`${at}: array query parameter ${name} needs an \`items\` schema`);
  if (parameter.required === true && !(typeof schema.minItems === 'number' && schema.minItems >= 1)) {
    throw new Error(`${at}: array query parameter ${name} is required but may be empty: an empty array is sent as no parameter at all, which the stub refuses (give it minItems: 1)`);
  }
  const item = scalarOf(doc, schema.items, `${at} (${name} items)`);
  return { scalar: item.scalar, array: true, tsType: item.tsType.includes(' | ') ? `(${item.tsType})[]` : `${item.tsType}[]` };
}
