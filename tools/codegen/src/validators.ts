import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AnySchemaObject } from 'ajv';
import * as standaloneModule from 'ajv/dist/standalone/index.js';
import * as formatsModule from 'ajv-formats';
// Both are CommonJS with `exports.default = fn` on `module.exports = fn`: under NodeNext the namespace's
// `default` is module.exports, so `.default.default` is the function for TypeScript and at run time alike.
import { isObject, type Contract, type Json, type JsonObject } from './contract.ts';
import { withHeader } from './header.ts';
import { alwaysPresent, listOperations, type OperationInfo } from './operations.ts';
import { schemaNames } from './schemas.ts';
import { rewriteSchemaRefs, toAjvSchema } from './transforms.ts';

/** Base of every compiled schema's `$id` (Ajv wants a real URI, not a bare `urn:x`). */
export const SCHEMA_ID_BASE = 'https://llmgw.dev/contracts/openapi/';

export const schemaId = (name: string): string => `${SCHEMA_ID_BASE}schemas/${name}`;

/** Ajv options for the runtime validators: fast (first error only), strict, 2020-12 with discriminators. */
export const AJV_OPTIONS = {
  allErrors: false,
  discriminator: true,
  strict: true,
  // `type: [string, 'null']` is how 3.1 says nullable; strictTypes would reject it otherwise.
  allowUnionTypes: true,
  // Share one function per component schema instead of inlining it at every $ref (smaller module).
  inlineRefs: false,
  code: { source: true, esm: true, lines: true, optimize: true },
} as const;

/** One schema to compile: its export name and the schema (refs still `#/components/schemas/X`). */
export interface ValidatorEntry {
  readonly name: string;
  readonly schema: Json;
  /** TS type the validator narrows to (relative to the generated validators.d.ts). */
  readonly tsType: string;
}

// A query parameter with a default counts as required: the stub fills the default in before it
// validates, so the validated object (and its type) always holds the value.
function paramsSchema(operation: OperationInfo): Json {
  const properties: JsonObject = {};
  const required: string[] = [];
  for (const parameter of operation.parameters) {
    properties[parameter.name] = parameter.schema;
    if (alwaysPresent(parameter)) required.push(parameter.name);
  }
  return { type: 'object', properties, required };
}

function paramsTsType(operation: OperationInfo): string {
  const fields = operation.parameters.map((p) => `${JSON.stringify(p.name)}${alwaysPresent(p) ? '' : '?'}: ${p.tsType}`);
  return `{ ${fields.join('; ')} }`;
}

/** Every validator the runtime needs: component schemas, per-operation params, inline payloads. */
export function validatorEntries(contract: Contract): ValidatorEntry[] {
  const components = contract.doc.components;
  const schemas = isObject(components) && isObject(components.schemas) ? components.schemas : {};
  const entries: ValidatorEntry[] = schemaNames(contract).map((name) => ({
    name,
    schema: schemas[name] ?? null,
    tsType: `components['schemas']['${name}']`,
  }));
  for (const operation of listOperations(contract)) {
    if (operation.parameters.length > 0) {
      entries.push({ name: `${operation.operationId}_params`, schema: paramsSchema(operation), tsType: paramsTsType(operation) });
    }
    const inline = [operation.body, ...operation.responses.map((r) => r.json)];
    for (const p of inline) {
      if (p?.inlineSchema !== undefined) entries.push({ name: p.validator, schema: p.inlineSchema, tsType: p.tsType });
    }
  }
  const names = new Set<string>();
  for (const entry of entries) {
    if (names.has(entry.name)) throw new Error(`validator name ${entry.name} is generated twice (a schema named like an operation's params?)`);
    names.add(entry.name);
  }
  return entries;
}

/** The schema Ajv compiles for an entry: OpenAPI-isms stripped, refs pointing at the schemas' `$id`s. */
export function compiledSchema(entry: ValidatorEntry): AnySchemaObject {
  const schema = rewriteSchemaRefs(toAjvSchema(entry.schema), schemaId);
  if (!isObject(schema)) throw new Error(`${entry.name}: a schema must be an object`);
  return { ...schema, $id: schemaId(entry.name) } as AnySchemaObject;
}

/** A configured Ajv with every entry added (not compiled yet). Used for standalone code and in tests. */
export function createAjv(entries: readonly ValidatorEntry[]): Ajv2020 {
  const ajv = new Ajv2020(AJV_OPTIONS);
  formatsModule.default.default(ajv);
  for (const entry of entries) ajv.addSchema(compiledSchema(entry));
  return ajv;
}

/**
 * Throws when a query parameter's `default` fails its own schema: the stub fills it in before it
 * validates, so every request without the parameter would get a 400. A separate Ajv, so the
 * standalone output never sees these throwaway schemas.
 */
export function checkQueryDefaults(entries: readonly ValidatorEntry[], operations: readonly OperationInfo[]): void {
  const defaulted = operations.flatMap((operation) => operation.parameters.filter((p) => p.default !== undefined).map((p) => ({ operation, p })));
  if (defaulted.length === 0) return;
  const ajv = createAjv(entries);
  for (const { operation, p } of defaulted) {
    const validate = ajv.compile(rewriteSchemaRefs(toAjvSchema(p.schema), schemaId) as AnySchemaObject);
    if (!validate(p.default)) {
      throw new Error(`${operation.pointer}: query parameter ${p.name} has default ${JSON.stringify(p.default)}, which fails its schema (${ajv.errorsText(validate.errors, { dataVar: p.name })})`);
    }
  }
}

/** The ESM output of Ajv still `require`s its runtime helpers: give it a `require` (Node only). */
export const REQUIRE_SHIM = `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);`;

/** How Ajv's standalone code refers to its code-point counter (for `minLength`/`maxLength`). */
export const AJV_UCS2LENGTH = 'require("ajv/dist/runtime/ucs2length").default';

/**
 * Stands in for Ajv's `ucs2length`, with the same count. Ajv's walks every UTF-16 unit in
 * JavaScript: 124 us for a 92 000-character prompt, on every request, since message content
 * has a `maxLength`. A string with no high surrogate has as many code points as units, and a
 * native search says so at once for a one-byte string (V8 knows it holds none) and about
 * 2.4x faster than the walk otherwise; only a string that has one is walked.
 */
export const CODE_POINT_LENGTH = [
  'const HIGH_SURROGATE = /[\\uD800-\\uDBFF]/;',
  'function codePointLength(str) {',
  '  if (!HIGH_SURROGATE.test(str)) return str.length;',
  '  const len = str.length;',
  '  let length = 0;',
  '  for (let pos = 0; pos < len; length++) {',
  '    const unit = str.charCodeAt(pos++);',
  '    if (unit >= 0xd800 && unit <= 0xdbff && pos < len && (str.charCodeAt(pos) & 0xfc00) === 0xdc00) pos++;',
  '  }',
  '  return length;',
  '}',
].join('\n');

/** packages/contract/src/generated/validators.js and validators.d.ts */
export function generateValidators(contract: Contract): { js: string; dts: string } {
  const entries = validatorEntries(contract);
  checkQueryDefaults(entries, listOperations(contract));
  const ajv = createAjv(entries);
  const exportsMap: Record<string, string> = {};
  for (const entry of entries) exportsMap[entry.name] = schemaId(entry.name);
  let code: string;
  try {
    code = standaloneModule.default.default(ajv, exportsMap);
  } catch (error) {
    throw new Error(`Ajv could not compile the contract's schemas: ${(error as Error).message}`, { cause: error });
  }
  code = code.replace(/^"use strict";\s*/, '');
  const countsCodePoints = code.includes(AJV_UCS2LENGTH);
  code = code.replaceAll(AJV_UCS2LENGTH, 'codePointLength');
  const js = withHeader(contract, code, ['// @ts-nocheck', REQUIRE_SHIM, ...(countsCodePoints ? [CODE_POINT_LENGTH] : [])]);

  const dts = [
    `import type { ErrorObject } from 'ajv';`,
    `import type { components, operations } from './types.ts';`,
    '',
    '/** A compiled Ajv validator: a type guard that leaves its errors (first error only) on `errors`. */',
    'export interface Validator<T> {',
    '  (data: unknown): data is T;',
    '  errors?: ErrorObject[] | null;',
    '}',
    '',
    ...entries.map((entry) => `export declare const ${entry.name}: Validator<${entry.tsType}>;`),
  ];
  return { js, dts: withHeader(contract, dts.join('\n')) };
}
