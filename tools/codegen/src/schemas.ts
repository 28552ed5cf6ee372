import { isObject, type Contract } from './contract.ts';
import { withHeader } from './header.ts';

/** Component schema names in contract order. Names must be valid TS identifiers (they become exports). */
export function schemaNames(contract: Pick<Contract, 'doc'>): string[] {
  const components = contract.doc.components;
  const schemas = isObject(components) ? components.schemas : undefined;
  if (!isObject(schemas)) return [];
  const names = Object.keys(schemas);
  for (const name of names) {
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) throw new Error(`components/schemas/${name}: schema names must be identifiers (they are exported as types and validators)`);
  }
  return names;
}

/** packages/contract/src/generated/schemas.ts: one alias per component schema. */
export function generateSchemaAliases(contract: Contract): string {
  const lines = [`import type { components } from './types.ts';`, ''];
  for (const name of schemaNames(contract)) lines.push(`export type ${name} = components['schemas']['${name}'];`);
  return withHeader(contract, lines.join('\n'));
}
