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
const SCALAR_TYPES = new Set(['integer', 'number', 'boolean', 'string']);
const SUPPORTED = 'integer, number, boolean, string or an array of one of those';

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Follows local `$ref`s (`#/components/parameters/X`, `#/components/schemas/X`). */
function deref(doc: ContractDocument, node: unknown): Node {
  let current = node;
  for (let hops = 0; isNode(current) && typeof current.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`${current.$ref}: reference cycle`);
    let target: unknown = doc;
    for (const raw of current.$ref.replace(/^#\//, '').split('/')) target = isNode(target) ? target[raw.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined;
    if (target === undefined) throw new Error(`${current.$ref}: unresolved reference`);
    current = target;
  }
  return isNode(current) ? current : {};
}

function checkScalar(doc: ContractDocument, schema: unknown, where: string): void {
  const type = deref(doc, schema).type;
  if (typeof type !== 'string' || !SCALAR_TYPES.has(type)) throw new Error(`${where}: query parameters must be ${SUPPORTED} with a single \`type\` (got type ${JSON.stringify(type ?? null)})`);
}

/** Checks one query parameter; says whether it is an array. Same limits as the server stubs (tools/codegen/src/query.ts). */
function checkQuery(doc: ContractDocument, parameter: Node, where: string): boolean {
  const name = String(parameter.name);
  if (parameter.schema === undefined) throw new Error(`${where}: query parameter ${name} needs a \`schema\` (\`content\` is not supported)`);
  if (parameter.style !== undefined && parameter.style !== 'form') {
    throw new Error(`${where}: query parameter ${name} has style ${JSON.stringify(parameter.style)}; only style: form (the default) is supported`);
  }
  const schema = deref(doc, parameter.schema);
  if (schema.type !== 'array') {
    checkScalar(doc, parameter.schema, `${where} (${name})`);
    return false;
  }
  if (parameter.explode === false) throw new Error(`${where}: array query parameter ${name} has explode: false; only repeated keys (explode: true, the default) are supported`);
  checkScalar(doc, schema.items, `${where} (${name} items)`);
  if (parameter.required === true && !(typeof schema.minItems === 'number' && schema.minItems >= 1)) {
    throw new Error(`${where}: array query parameter ${name} is required but may be empty: an empty array is sent as no parameter at all, which the stub refuses (give it minItems: 1)`);
  }
  return true;
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
