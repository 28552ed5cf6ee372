import { isObject, type Contract } from './contract.ts';
import { withHeader } from './header.ts';
import { alwaysPresent, listOperations, type OperationInfo, type ParameterInfo, type ResponseInfo } from './operations.ts';

const pascal = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1);
const q = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const prop = (name: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : q(name));
const access = (obj: string, name: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${obj}.${name}` : `${obj}[${q(name)}]`);
const docText = (text: unknown): string => (typeof text === 'string' ? text.replace(/\*\//g, '* /').split('\n')[0] ?? '' : '');

/** The TS type of a validated payload, in the generated file's imports (`S.X` or `operations[...]`). */
const payloadType = (tsType: string): string => tsType;

/** Runtime helpers from packages/server/src/core every generated file imports. */
const CORE_HELPERS = ['isJsonContentType', 'readJsonBody', 'requestHeader', 'resolveRouteOptions', 'respond', 'sendBodyError', 'sendParamsError', 'sendUnsupportedMediaType'];

/** The handler input's key for each parameter location. */
const INPUT_KEY = { path: 'params', header: 'headers', query: 'query' } as const satisfies Record<ParameterInfo['in'], string>;
const LOCATIONS = ['path', 'header', 'query'] as const;

function paramsType(operation: OperationInfo, location: ParameterInfo['in']): string | undefined {
  const list = operation.parameters.filter((p) => p.in === location);
  if (list.length === 0) return undefined;
  return `{ ${list.map((p) => `readonly ${prop(p.name)}${alwaysPresent(p) ? '' : '?'}: ${p.tsType}`).join('; ')} }`;
}

/** `{ body; params; headers; query }` handed to the handler, only with the parts the operation has. */
function inputType(operation: OperationInfo): string {
  const parts: string[] = [];
  if (operation.body) parts.push(`readonly body: ${payloadType(operation.body.tsType)}`);
  for (const location of LOCATIONS) {
    const type = paramsType(operation, location);
    if (type) parts.push(`readonly ${INPUT_KEY[location]}: ${type}`);
  }
  return parts.length === 0 ? 'Record<string, never>' : `{\n  ${parts.join(';\n  ')};\n}`;
}

/** Runtime helper that turns a query value's text into its schema's type (none for strings). */
function queryCoercion(p: ParameterInfo): string | undefined {
  if (p.query === undefined || p.query.scalar === 'string') return undefined;
  return `query${p.query.scalar === 'number' ? 'Number' : 'Boolean'}${p.query.array ? 's' : ''}`;
}

/** The expression reading one parameter from the request (before validation). */
function readParameter(p: ParameterInfo): string {
  if (p.in === 'path') return `c.req.param(${q(p.name)})`;
  if (p.in === 'header') return `requestHeader(c, ${q(p.name.toLowerCase())}) ?? undefined`;
  // Hono decodes the query; a scalar repeated in the URL is read from its first occurrence.
  const text = `c.req.${p.query?.array ? 'queries' : 'query'}(${q(p.name)})`;
  const coercion = queryCoercion(p);
  const value = coercion === undefined ? text : `${coercion}(${text})`;
  return p.default === undefined ? value : `${value} ?? ${JSON.stringify(p.default)}`;
}

/** Members of the result union: statuses grouped by identical body type, plus event streams. */
function resultMembers(responses: readonly ResponseInfo[]): string[] {
  const groups = new Map<string, number[]>();
  const members: string[] = [];
  for (const response of responses) {
    const key = response.json ? payloadType(response.json.tsType) : '';
    groups.set(key, [...(groups.get(key) ?? []), response.status]);
  }
  for (const [type, statuses] of groups) {
    const status = statuses.join(' | ');
    members.push(type === '' ? `{ readonly status: ${status}; readonly headers?: ResponseHeaders }` : `{ readonly status: ${status}; readonly body: ${type}; readonly headers?: ResponseHeaders }`);
  }
  const sse = responses.filter((r) => r.sse).map((r) => r.status);
  if (sse.length > 0) members.push(`{ readonly status: ${sse.join(' | ')}; readonly sse: ReadableStream<Uint8Array>; readonly headers?: ResponseHeaders }`);
  return members;
}

function responseContract(operation: OperationInfo): string {
  const json = operation.responses.filter((r) => r.json).map((r) => `${r.status}: ${access('V', r.json?.validator ?? '')}`);
  const sse = operation.responses.filter((r) => r.sse).map((r) => r.status);
  const empty = operation.responses.filter((r) => !r.json && !r.sse).map((r) => r.status);
  return [
    `const ${operation.operationId}Responses: ResponseContract = Object.freeze({`,
    `  operationId: ${q(operation.operationId)},`,
    `  json: Object.freeze({ ${json.join(', ')} }),`,
    `  sse: Object.freeze([${sse.join(', ')}]),`,
    `  empty: Object.freeze([${empty.join(', ')}]),`,
    `});`,
  ].join('\n');
}

/** The route factory: resolves per-route constants once, returns the named per-request function. */
function routeFactory(operation: OperationInfo): string {
  const id = operation.operationId;
  const T = pascal(id);
  const lines: string[] = [];
  lines.push(`function ${id}Route<E extends Env>(handlers: Handlers<E>, options: ResolvedRouteOptions): (c: Context<E>) => Promise<Response> {`);
  lines.push(`  const check = options.validateResponses ? ${id}Responses : undefined;`);
  lines.push(`  return async function ${id}(c: Context<E>): Promise<Response> {`);
  const parts: string[] = [];
  if (operation.parameters.length > 0) {
    // Every location's parameters are validated together, as one object (one 400 naming the parameter).
    const byLocation = LOCATIONS.map((location) => operation.parameters.filter((p) => p.in === location)).filter((list) => list.length > 0);
    const fields = byLocation.flat().map((p) => `${prop(p.name)}: ${readParameter(p)}`);
    lines.push(`    const params = { ${fields.join(', ')} };`);
    lines.push(`    if (!${access('V', `${id}_params`)}(params)) return sendParamsError(c, ${access('V', `${id}_params`)}.errors);`);
    for (const list of byLocation) {
      const key = INPUT_KEY[list[0]!.in];
      // Only one location: the validated object already has the input's shape, pass it as is.
      if (byLocation.length === 1) parts.push(`${key}: params`);
      else parts.push(`${key}: { ${list.map((p) => `${prop(p.name)}: ${access('params', p.name)}`).join(', ')} }`);
    }
  }
  if (operation.body) {
    const v = access('V', operation.body.validator);
    lines.push(`    const contentType = requestHeader(c, 'content-type');`);
    lines.push(`    if (!isJsonContentType(contentType)) return sendUnsupportedMediaType(c, contentType);`);
    lines.push(`    const body = await readJsonBody(c);`);
    lines.push(`    if (body instanceof Response) return body;`);
    lines.push(`    if (!${v}(body)) return sendBodyError(c, ${v}.errors);`);
    parts.unshift('body');
  }
  const input = parts.length === 0 ? 'EMPTY_INPUT' : `{ ${parts.join(', ')} }`;
  lines.push(`    const result: ${T}Result = await handlers.${id}(c, ${input});`);
  lines.push(`    return respond(c, result, check, options);`);
  lines.push(`  };`);
  lines.push(`}`);
  return lines.join('\n');
}

/** packages/server/src/generated/routes.ts */
export function generateRoutes(contract: Contract): string {
  const operations = listOperations(contract);
  const paths = isObject(contract.doc.paths) ? contract.doc.paths : {};
  const out: string[] = [];
  // Query coercions are imported only when a parameter needs one: no unused imports in the generated file.
  const coercions = operations.flatMap((op) => op.parameters.flatMap((p) => queryCoercion(p) ?? []));
  const helpers = [...new Set([...CORE_HELPERS, ...coercions])].sort();
  out.push(
    operations.some((op) => [op.body, ...op.responses.map((r) => r.json)].some((p) => p?.inlineSchema !== undefined))
      ? `import { validators as V, type operations } from '@llmgw/contract';`
      : `import { validators as V } from '@llmgw/contract';`,
    `import type * as S from '@llmgw/contract';`,
    `import type { Context, Env, Hono } from 'hono';`,
    `import {`,
    ...helpers.map((name) => `  ${name},`),
    `  type ResolvedRouteOptions,`,
    `  type ResponseContract,`,
    `  type ResponseHeaders,`,
    `  type RouteOptions,`,
    `} from '../core/index.ts';`,
    '',
    `/** Input of operations without parameters or body (shared, frozen: no per-request allocation). */`,
    `const EMPTY_INPUT: Record<string, never> = Object.freeze({});`,
    '',
    `/** Every operation of the contract, in document order. */`,
    `export const operationList = Object.freeze([`,
    ...operations.map((op) => `  { operationId: ${q(op.operationId)}, method: ${q(op.method.toUpperCase())}, path: ${q(op.path)}, honoPath: ${q(op.honoPath)} },`),
    `] as const);`,
    '',
    `export type OperationId = (typeof operationList)[number]['operationId'];`,
    '',
  );
  for (const operation of operations) {
    const T = pascal(operation.operationId);
    out.push(`/** Input of ${operation.operationId} (${operation.method.toUpperCase()} ${operation.path}), validated against the contract. */`);
    out.push(`export type ${T}Input = ${inputType(operation)};`, '');
    out.push(`/** Every answer the contract allows for ${operation.operationId}. */`);
    out.push(`export type ${T}Result =\n  | ${resultMembers(operation.responses).join('\n  | ')};`, '');
  }
  out.push(`/** One handler per operation; each receives validated input and returns only what the contract allows. */`);
  out.push(`export interface Handlers<E extends Env = Env> {`);
  for (const operation of operations) {
    const T = pascal(operation.operationId);
    const item = paths[operation.path];
    const op = isObject(item) ? item[operation.method] : undefined;
    const summary = docText(isObject(op) ? op.summary : undefined);
    out.push(`  /** ${operation.method.toUpperCase()} ${operation.path}${summary ? `: ${summary}` : ''} */`);
    out.push(`  ${operation.operationId}(c: Context<E>, input: ${T}Input): Promise<${T}Result> | ${T}Result;`);
  }
  out.push(`}`, '');
  for (const operation of operations) out.push(responseContract(operation), '', routeFactory(operation), '');
  out.push(
    `/**`,
    ` * Registers every operation on \`app\` (Hono's router does the matching). Options are resolved once here;`,
    ` * per request the stubs only validate, call the handler and serialise.`,
    ` */`,
    `export function registerRoutes<E extends Env>(app: Hono<E>, handlers: Handlers<E>, options?: RouteOptions): Hono<E> {`,
    `  const resolved = resolveRouteOptions(options);`,
    ...operations.map((op) => `  app.on(${q(op.method.toUpperCase())}, ${q(op.honoPath)}, ${op.operationId}Route(handlers, resolved));`),
    `  return app;`,
    `}`,
  );
  return withHeader(contract, out.join('\n'));
}
