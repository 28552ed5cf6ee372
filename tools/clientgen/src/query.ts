// The stubs' own reading of parameters (tools/codegen): the clients must send what it reads.
import { deref as derefJson, type Json, type JsonObject } from '../../codegen/src/contract.ts';
import { queryRead } from '../../codegen/src/query.ts';
import type { ContractDocument } from './contract.ts';

/** A query parameter both clients can send as the server stubs read it. */
export interface QueryParameter {
  readonly operationId: string;
  readonly name: string;
  /** An exploded array: sent as one `name=value` pair per item. */
  readonly array: boolean;
}

type Node = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

const deref = (doc: ContractDocument, node: unknown): Node => derefJson(doc as unknown as Json, node as Json);

/**
 * Checks one query parameter with the server stubs' own reading of it (tools/codegen/src/query.ts:
 * one set of limits and messages for stubs and clients); says whether it is an array.
 */
function checkQuery(doc: ContractDocument, parameter: Node, where: string): boolean {
  return queryRead(doc as unknown as JsonObject, parameter as JsonObject, where).array;
}

/**
 * Every query parameter of the contract; throws on one the clients would send differently from how
 * the stubs read it. openapi-fetch has one query serialiser for all parameters (form, arrays
 * exploded, objects as deepObject) and ignores cookie parameters, so other styles and cookies fail
 * here instead of reaching the wire wrong or not at all.
 */
export function queryParameters(doc: ContractDocument): QueryParameter[] {
  const out: QueryParameter[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isNode(op)) continue;
      const operationId = String(op.operationId);
      const own = Array.isArray(op.parameters) ? op.parameters : [];
      // An operation's parameter replaces the path item's one of the same name and location.
      const byKey = new Map<string, Node>();
      for (const raw of [...shared, ...own]) {
        const parameter = deref(doc, raw);
        byKey.set(`${String(parameter.in)}:${String(parameter.name)}`, parameter);
      }
      const where = `${method.toUpperCase()} ${path}`;
      for (const parameter of byKey.values()) {
        if (parameter.in === 'cookie') throw new Error(`${where}: cookie parameter ${String(parameter.name)} is not supported (openapi-fetch does not send cookie parameters)`);
        if (parameter.in === 'query') out.push({ operationId, name: String(parameter.name), array: checkQuery(doc, parameter, where) });
      }
    }
  }
  return out;
}
