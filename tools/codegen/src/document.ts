import type { Contract } from './contract.ts';
import { withHeader } from './header.ts';

/**
 * packages/contract/src/generated/document.ts: the contract as YAML text, as compact JSON text and
 * as a frozen object, so the service serves /openapi.yaml and /openapi.json without file reads.
 * The object is parsed from the JSON string at load: a huge object literal would cost the
 * type checker more than it gives (consumers only need it loosely typed).
 */
export function generateDocument(contract: Contract): string {
  const json = JSON.stringify(contract.doc);
  const body = [
    `/** sha256 of contracts/openapi.yaml (hex). */`,
    `export const contractSha256 = ${JSON.stringify(contract.sha256)};`,
    '',
    `/** The contract's YAML source, byte for byte. */`,
    `export const openapiYaml: string = ${JSON.stringify(contract.text)};`,
    '',
    `/** The contract as compact JSON text (serve as is for /openapi.json). */`,
    `export const openapiJson: string = ${JSON.stringify(json)};`,
    '',
    `/** A loosely typed view of the OpenAPI document. */`,
    `export interface OpenApiDocument {`,
    `  readonly openapi: string;`,
    `  readonly info: { readonly title: string; readonly version: string; readonly [key: string]: unknown };`,
    `  readonly paths: { readonly [path: string]: unknown };`,
    `  readonly components: { readonly [kind: string]: { readonly [name: string]: unknown } };`,
    `  readonly [key: string]: unknown;`,
    `}`,
    '',
    `function deepFreeze<T>(value: T): T {`,
    `  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {`,
    `    Object.freeze(value);`,
    `    for (const child of Object.values(value)) deepFreeze(child);`,
    `  }`,
    `  return value;`,
    `}`,
    '',
    `/** The contract as a deeply frozen object. */`,
    `export const openapiDocument: OpenApiDocument = deepFreeze(JSON.parse(openapiJson) as OpenApiDocument);`,
  ];
  return withHeader(contract, body.join('\n'));
}
