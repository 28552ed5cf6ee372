import { isObject, type Json, type JsonObject } from './contract.ts';

/** Schema keywords whose values are maps of sub-schemas (keys are names, not keywords). */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose values are literal data and must never be walked or stripped. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/**
 * Deep-copies a JSON Schema, calling `edit` on every schema object (after its children are copied).
 * Property names inside `properties` etc. are never mistaken for keywords, and literal data
 * (`const`, `enum`, `default`) is copied untouched.
 */
export function mapSchemas(schema: Json, edit: (node: JsonObject) => JsonObject): Json {
  if (Array.isArray(schema)) return schema.map((item) => mapSchemas(item, edit));
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DATA_KEYWORDS.has(key)) out[key] = structuredClone(value);
    else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
      const map: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) map[name] = mapSchemas(sub, edit);
      out[key] = map;
    } else out[key] = mapSchemas(value, edit);
  }
  return edit(out);
}

/**
 * For openapi-typescript: drop `discriminator`. Without a `mapping`, openapi-typescript injects the
 * *schema name* as the tag (`type: "TextContentPart"`), while our members pin the tag with `const`
 * (`type: "text"`); the consts alone already make an exact discriminated union in TypeScript.
 */
export function stripDiscriminators(schema: Json): Json {
  return mapSchemas(schema, (node) => {
    if (!('discriminator' in node) || !Array.isArray(node.oneOf ?? node.anyOf)) return node;
    const { discriminator: _dropped, ...rest } = node;
    return rest;
  });
}

/** Not validation keywords: OpenAPI examples, and documentation Ajv would embed in the generated code. */
const DROPPED_FOR_AJV = new Set(['example', 'examples', 'description', 'title', '$comment']);

/**
 * For Ajv (strict mode, `discriminator: true`): remove OpenAPI-isms that are not JSON Schema
 * keywords: `example`, `examples`, every `x-*` key and `discriminator.mapping` (Ajv: "mapping is not
 * supported"); add `type: object` (and the tag as a string property, for strictRequired)
 * beside a discriminator, as strict mode wants. Other annotations
 * (`description`, `title`, `default`, `deprecated`) are known to Ajv and kept.
 */
export function toAjvSchema(schema: Json): Json {
  return mapSchemas(schema, (node) => {
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (DROPPED_FOR_AJV.has(key) || key.startsWith('x-')) continue;
      if (key === 'discriminator' && isObject(value)) {
        const { mapping: _mapping, ...discriminator } = value;
        out[key] = discriminator;
        continue;
      }
      out[key] = value;
    }
    if (isObject(out.discriminator)) {
      if (out.type === undefined) out.type = 'object';
      // strictRequired wants every required name declared here; Ajv's discriminator needs a string tag anyway.
      const tag = out.discriminator.propertyName;
      const properties = isObject(out.properties) ? out.properties : {};
      if (typeof tag === 'string' && Array.isArray(out.required) && out.required.includes(tag) && !(tag in properties)) {
        out.properties = { ...properties, [tag]: { type: 'string' } };
      }
    }
    return out;
  });
}

/** Rewrites every `#/components/schemas/X` reference with `rename` (e.g. to a standalone `$id`). */
export function rewriteSchemaRefs(schema: Json, rename: (name: string) => string): Json {
  return mapSchemas(schema, (node) => {
    if (typeof node.$ref !== 'string') return node;
    const match = /^#\/components\/schemas\/([^/]+)$/.exec(node.$ref);
    if (!match?.[1]) throw new Error(`${node.$ref}: only #/components/schemas/* references are supported inside schemas`);
    return { ...node, $ref: rename(match[1]) };
  });
}
