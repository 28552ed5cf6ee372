import { isObject, type Contract } from './contract.ts';
import { withHeader } from './header.ts';
import { listOperations, type OperationInfo, type ResponseInfo } from './operations.ts';

const pascal = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1);
const q = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const prop = (name: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : q(name));
const access = (obj: string, name: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${obj}.${name}` : `${obj}[${q(name)}]`);
const docText = (text: unknown): string => (typeof text === 'string' ? text.replace(/\*\//g, '* /').split('\n')[0] ?? '' : '');

/** The TS type of a validated payload, in the generated file's imports (`S.X` or `operations[...]`). */
const payloadType = (tsType: string): string => tsType;

function paramsType(operation: OperationInfo, location: 'path' | 'header'): string | undefined {
  const list = operation.parameters.filter((p) => p.in === location);
  if (list.length === 0) return undefined;
  return `{ ${list.map((p) => `readonly ${prop(p.name)}${p.required ? '' : '?'}: ${p.tsType}`).join('; ')} }`;
}

/** `{ body; params; headers }` handed to the handler, only with the parts the operation has. */
function inputType(operation: OperationInfo): string {
  const parts: string[] = [];
  if (operation.body) parts.push(`readonly body: ${payloadType(operation.body.tsType)}`);
  const path = paramsType(operation, 'path');
  if (path) parts.push(`readonly params: ${path}`);
  const headers = paramsType(operation, 'header');
  if (headers) parts.push(`readonly headers: ${headers}`);
  return parts.length === 0 ? 'Record<string, never>' : `{\n  ${parts.join(';\n  ')};\n}`;
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
  const headerParams = operation.parameters.filter((p) => p.in === 'header');
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  if (operation.parameters.length > 0) {
    const fields = [
      ...pathParams.map((p) => `${prop(p.name)}: c.req.param(${q(p.name)})`),
      ...headerParams.map((p) => `${prop(p.name)}: requestHeader(c, ${q(p.name.toLowerCase())}) ?? undefined`),
    ];
    lines.push(`    const params = { ${fields.join(', ')} };`);
    lines.push(`    if (!${access('V', `${id}_params`)}(params)) return sendParamsError(c, ${access('V', `${id}_params`)}.errors);`);
    if (pathParams.length > 0) parts.push(`params: { ${pathParams.map((p) => `${prop(p.name)}: ${access('params', p.name)}`).join(', ')} }`);
    // Only header parameters: the validated object already has the input's shape, pass it as is.
    if (headerParams.length > 0 && pathParams.length === 0) parts.push('headers: params');
    else if (headerParams.length > 0) parts.push(`headers: { ${headerParams.map((p) => `${prop(p.name)}: ${access('params', p.name)}`).join(', ')} }`);
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
  out.push(
    operations.some((op) => [op.body, ...op.responses.map((r) => r.json)].some((p) => p?.inlineSchema !== undefined))
      ? `import { validators as V, type operations } from '@llmgw/contract';`
      : `import { validators as V } from '@llmgw/contract';`,
    `import type * as S from '@llmgw/contract';`,
    `import type { Context, Env, Hono } from 'hono';`,
    `import {`,
    `  isJsonContentType,`,
    `  readJsonBody,`,
    `  requestHeader,`,
    `  resolveRouteOptions,`,
    `  respond,`,
    `  sendBodyError,`,
    `  sendParamsError,`,
    `  sendUnsupportedMediaType,`,
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
