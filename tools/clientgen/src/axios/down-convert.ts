import { Converter } from '@apiture/openapi-down-convert';
import { addConstDiscriminatorMappings } from '../discriminators.ts';

type Node = Record<string, unknown>;

/**
 * A 3.0 rendering of the 3.1 contract for openapi-generator 5.0.0-beta2 (which crashes on 3.1).
 * openapi-down-convert does most of it (const → enum, `type: [X, 'null']` → nullable); what it
 * leaves we finish here, because the old generator breaks on it:
 * - `oneOf`/`anyOf: [X, {type: 'null'}]` → `allOf: [X]` + `nullable: true` (or X's own keywords + nullable);
 * - a bare `type: 'null'` (e.g. `logprobs`) → `nullable: true` with no type;
 * - `info.summary` and `license.identifier` (3.1 only) are dropped;
 * - discriminators get the mapping their members' `const`s imply (see ../discriminators.ts).
 */
export function downConvert(document31: Node): Node {
  const doc = structuredClone(document31);
  addConstDiscriminatorMappings(doc);
  const converted = new Converter(doc, { verbose: false }).convert() as Node;
  walk(converted);
  // 3.1-only Info/License fields that the 3.0 validator rejects.
  const info = converted.info as Node | undefined;
  if (info) {
    delete info.summary;
    const license = info.license as Node | undefined;
    if (license) delete license.identifier;
  }
  return converted;
}

const isNull = (s: unknown): boolean => typeof s === 'object' && s !== null && (s as Node).type === 'null' && Object.keys(s as Node).length === 1;

function rewriteNullable(schema: Node): void {
  for (const key of ['oneOf', 'anyOf'] as const) {
    const members = schema[key];
    if (!Array.isArray(members) || !members.some(isNull)) continue;
    const rest = members.filter((m) => !isNull(m)) as Node[];
    delete schema[key];
    schema.nullable = true;
    if (rest.length > 1) schema[key] = rest;
    else if (rest.length === 1) {
      const only = rest[0]!;
      if (typeof only.$ref === 'string') schema.allOf = [only];
      else Object.assign(schema, only, { nullable: true });
    }
  }
  if (schema.type === 'null') {
    delete schema.type;
    schema.nullable = true;
  }
}

function walk(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  rewriteNullable(node as Node);
  for (const value of Object.values(node as Node)) walk(value);
}
