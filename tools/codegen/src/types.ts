import openapiTS, { astToString, oapiRef, STRING, tsIntersection, tsUnion } from 'openapi-typescript';
import type { OpenAPI3, SchemaObject } from 'openapi-typescript';
import ts from 'typescript';
import { isObject, resolvePointer, schemaRefName, type Contract, type Json } from './contract.ts';
import { withHeader } from './header.ts';
import { stripDiscriminators } from './transforms.ts';

/** `string & Record<never, never>`: any string, but editors still offer the known literals beside it. */
export const OPEN_STRING: ts.TypeNode = tsIntersection([
  STRING,
  ts.factory.createTypeReferenceNode('Record', [ts.factory.createKeywordTypeNode(ts.SyntaxKind.NeverKeyword), ts.factory.createKeywordTypeNode(ts.SyntaxKind.NeverKeyword)]),
]);

/**
 * The "open enum" pattern: `anyOf: [$ref to a string enum, {type: string}]`.
 * Returns the enum's `$ref` when `schema` matches, else undefined.
 */
export function openEnumRef(schema: unknown, doc: Json): string | undefined {
  if (!isObject(schema) || !Array.isArray(schema.anyOf) || schema.anyOf.length !== 2) return undefined;
  const [first, second] = schema.anyOf;
  const refName = schemaRefName(first);
  if (refName === undefined || !isObject(second) || second.type !== 'string') return undefined;
  if ('enum' in second || 'const' in second) return undefined;
  const target = resolvePointer(doc, `#/components/schemas/${refName}`);
  if (!isObject(target) || target.type !== 'string' || !Array.isArray(target.enum)) return undefined;
  return `#/components/schemas/${refName}`;
}

/** openapi-typescript `transform` hook: open enums become `Known | (string & Record<never, never>)`. */
export function openEnumTransform(doc: Json) {
  return (schemaObject: SchemaObject): ts.TypeNode | undefined => {
    const ref = openEnumRef(schemaObject, doc);
    return ref === undefined ? undefined : tsUnion([oapiRef(ref), OPEN_STRING]);
  };
}

/** packages/contract/src/generated/types.ts */
export async function generateTypes(contract: Contract): Promise<string> {
  const doc = stripDiscriminators(contract.doc) as unknown as OpenAPI3;
  const ast = await openapiTS(doc, {
    defaultNonNullable: false, // request fields with a default stay optional
    exportType: false,
    rootTypes: false, // aliases go to schemas.ts
    alphabetize: false, // contract order is stable and reads better
    silent: true,
    transform: openEnumTransform(contract.doc),
  });
  return withHeader(contract, astToString(ast));
}
