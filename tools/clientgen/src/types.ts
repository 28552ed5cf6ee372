import openapiTS, { astToString } from 'openapi-typescript';
import type { OpenAPI3, SchemaObject, TransformNodeOptions } from 'openapi-typescript';
import ts from 'typescript';
import type { LoadedContract } from './contract.ts';
import { addConstDiscriminatorMappings } from './discriminators.ts';

/**
 * `anyOf: [{$ref: <string enum>}, {type: string}]` is the contract's "open enum" (ModelId):
 * known names are offered by the editor, any other string is still accepted.
 * `string & Record<never, never>` keeps TypeScript from collapsing the union into plain `string`.
 */
export function openEnumTransform(schema: SchemaObject, options: TransformNodeOptions): ts.TypeNode | undefined {
  const anyOf = (schema as { anyOf?: unknown[] }).anyOf;
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return undefined;
  const ref = anyOf.find((s): s is { $ref: string } => typeof (s as { $ref?: unknown }).$ref === 'string');
  const open = anyOf.find((s) => (s as { type?: unknown; $ref?: unknown }).type === 'string' && !(s as { $ref?: unknown }).$ref);
  if (!ref || !open) return undefined;
  const target = options.ctx.resolve<SchemaObject>(ref.$ref) as { type?: unknown; enum?: unknown[] } | undefined;
  if (target?.type !== 'string' || !Array.isArray(target.enum)) return undefined;
  const refType = refToTypeNode(ref.$ref);
  const openString = ts.factory.createParenthesizedType(
    ts.factory.createIntersectionTypeNode([
      ts.factory.createKeywordTypeNode(ts.SyntaxKind.StringKeyword),
      ts.factory.createTypeReferenceNode('Record', [
        ts.factory.createKeywordTypeNode(ts.SyntaxKind.NeverKeyword),
        ts.factory.createKeywordTypeNode(ts.SyntaxKind.NeverKeyword),
      ]),
    ]),
  );
  return ts.factory.createUnionTypeNode([refType, openString]);
}

/** `#/components/schemas/KnownModel` → `components["schemas"]["KnownModel"]`. */
function refToTypeNode($ref: string): ts.TypeNode {
  const parts = $ref.replace(/^#\//, '').split('/');
  let node: ts.TypeNode = ts.factory.createTypeReferenceNode(parts[0]!);
  for (const part of parts.slice(1)) {
    node = ts.factory.createIndexedAccessTypeNode(node, ts.factory.createLiteralTypeNode(ts.factory.createStringLiteral(part)));
  }
  return node;
}

/** The openapi-typescript `paths`/`components` module, as text. */
export async function generateTypes(contract: LoadedContract): Promise<string> {
  const document = structuredClone(contract.document);
  addConstDiscriminatorMappings(document);
  const ast = await openapiTS(document as unknown as OpenAPI3, {
    defaultNonNullable: false,
    silent: true,
    transform: openEnumTransform,
  });
  return astToString(ast);
}
