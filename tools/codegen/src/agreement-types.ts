import { isObject, type Json, type JsonObject } from './contract.ts';

/** Name of the TS type for an object-typed `$defs` entry of the agreement schema. */
export const defTypeName = (def: string): string => `Agreement${def.charAt(0).toUpperCase()}${def.slice(1)}`;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string): string => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

function isObjectSchema(schema: Json | undefined): schema is JsonObject {
  return isObject(schema) && (schema.type === 'object' || isObject(schema.properties));
}

/**
 * A small JSON Schema -> TypeScript emitter for agreement.schema.json (closed objects, $defs, enums,
 * arrays, `$ref` with a sibling `required`). Every field is readonly: the agreement is frozen.
 */
export function emitAgreementTypes(schema: JsonObject): string {
  const defs = isObject(schema.$defs) ? schema.$defs : {};

  const refTarget = (ref: string): [string, Json] => {
    const match = /^#\/\$defs\/([^/]+)$/.exec(ref);
    if (!match?.[1] || !(match[1] in defs)) throw new Error(`agreement.schema.json: unresolved $ref ${ref}`);
    return [match[1], defs[match[1]] ?? null];
  };

  const emit = (node: Json | undefined, indent: string): string => {
    if (!isObject(node)) return 'unknown';
    if (typeof node.$ref === 'string') {
      const [name, target] = refTarget(node.$ref);
      if (!isObjectSchema(target)) return emit(target, indent);
      const typeName = defTypeName(name);
      if (!Array.isArray(node.required) || node.required.length === 0) return typeName;
      const required = node.required.map((r) => JSON.stringify(r)).join(' | ');
      return `${typeName} & Required<Pick<${typeName}, ${required}>>`;
    }
    if ('const' in node) return JSON.stringify(node.const);
    if (Array.isArray(node.enum)) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (node.type === 'array') return `readonly (${emit(node.items, indent)})[]`;
    if (node.type === 'integer' || node.type === 'number') return 'number';
    if (node.type === 'string') return 'string';
    if (node.type === 'boolean') return 'boolean';
    if (isObjectSchema(node)) {
      const inner = `${indent}  `;
      const required = new Set(Array.isArray(node.required) ? node.required.map(String) : []);
      const lines: string[] = [];
      for (const [name, sub] of Object.entries(isObject(node.properties) ? node.properties : {})) {
        if (isObject(sub) && typeof sub.description === 'string') lines.push(`${inner}/** ${sub.description.replace(/\*\//g, '* /')} */`);
        lines.push(`${inner}readonly ${key(name)}${required.has(name) ? '' : '?'}: ${emit(sub, inner)};`);
      }
      if (isObject(node.additionalProperties)) lines.push(`${inner}readonly [key: string]: ${emit(node.additionalProperties, inner)};`);
      return lines.length === 0 ? 'Record<string, never>' : `{\n${lines.join('\n')}\n${indent}}`;
    }
    return 'unknown';
  };

  const out: string[] = [];
  const describe = (node: JsonObject): void => {
    if (typeof node.description === 'string') out.push(`/** ${node.description.replace(/\*\//g, '* /')} */`);
  };
  describe(schema);
  out.push(`export interface Agreement ${emit(schema, '')}`, '');
  for (const [name, def] of Object.entries(defs)) {
    if (!isObjectSchema(def)) continue;
    describe(def);
    out.push(`export interface ${defTypeName(name)} ${emit(def, '')}`, '');
  }
  return out.join('\n');
}
