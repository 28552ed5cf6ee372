import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Paths of the contract files, relative to the workspace root. */
export const CONTRACT_PATH = 'contracts/openapi.yaml';
export const AGREEMENT_SCHEMA_PATH = 'contracts/agreement.schema.json';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The OpenAPI document as read, with its source text and hash (used in every generated header). */
export interface Contract {
  /** The YAML source exactly as on disk. */
  readonly text: string;
  /** The parsed document (plain JSON values; YAML anchors resolved by the parser). */
  readonly doc: JsonObject;
  /** sha256 of the contract's bytes, hex. */
  readonly sha256: string;
  /** The JSON Schema of `x-llm-agreement`. */
  readonly agreementSchema: JsonObject;
}

/** Parses contract text; `agreementSchemaText` is the JSON text of agreement.schema.json. */
export function parseContract(text: string, agreementSchemaText: string): Contract {
  // `uniqueKeys` (default true) already rejects duplicate keys; keep every value plain JSON.
  const doc = parse(text, { prettyErrors: true }) as unknown;
  if (!isObject(doc)) throw new Error(`${CONTRACT_PATH}: the document is not a YAML mapping`);
  const agreementSchema = JSON.parse(agreementSchemaText) as unknown;
  if (!isObject(agreementSchema)) throw new Error(`${AGREEMENT_SCHEMA_PATH}: not a JSON object`);
  return {
    text,
    doc,
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    agreementSchema,
  };
}

/** Reads the contract from a workspace root. */
export function loadContract(root: string): Contract {
  return parseContract(readFileSync(join(root, CONTRACT_PATH), 'utf8'), readFileSync(join(root, AGREEMENT_SCHEMA_PATH), 'utf8'));
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves a local `#/a/b` reference (JSON Pointer escapes honoured). */
export function resolvePointer(doc: Json, ref: string): Json {
  if (!ref.startsWith('#')) throw new Error(`${ref}: only local references are supported`);
  let node: Json | undefined = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    node = Array.isArray(node) ? node[Number(key)] : isObject(node) ? node[key] : undefined;
    if (node === undefined) throw new Error(`${ref}: unresolved reference`);
  }
  return node as Json;
}

/** Follows `$ref` chains (for parameters, responses, request bodies, headers). */
export function deref(doc: Json, node: Json): JsonObject {
  let current = node;
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`${String(current.$ref)}: reference cycle`);
    current = resolvePointer(doc, current.$ref);
  }
  if (!isObject(current)) throw new Error('reference does not point at an object');
  return current;
}

/** JSON Pointer token escaping for error paths. */
export function pointerToken(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The name of a `#/components/schemas/X` reference, or undefined. */
export function schemaRefName(node: Json | undefined): string | undefined {
  if (!isObject(node) || typeof node.$ref !== 'string') return undefined;
  const match = /^#\/components\/schemas\/([^/]+)$/.exec(node.$ref);
  return match?.[1];
}
