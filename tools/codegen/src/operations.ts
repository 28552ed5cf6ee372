import { deref, isObject, pointerToken, schemaRefName, type Contract, type Json, type JsonObject } from './contract.ts';
import { queryRead, type QueryRead } from './query.ts';

/** HTTP methods OpenAPI path items may hold, in a fixed order (deterministic output). */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface ParameterInfo {
  readonly name: string;
  readonly in: 'path' | 'header' | 'query';
  /** As the contract says (path parameters always are). */
  readonly required: boolean;
  readonly schema: Json;
  /**
   * TypeScript type of the value the stub validates: for path and header parameters the raw string
   * (a literal union for string enums); for query parameters the coerced value (see `query`).
   */
  readonly tsType: string;
  /** Query parameters only: how the stub reads and coerces the value. */
  readonly query: QueryRead | undefined;
  /** Query parameters only: `schema.default`, filled in by the stub when the parameter is absent. */
  readonly default: Json | undefined;
}

/** Whether the validated parameters always hold the value: required, or a query parameter with a default. */
export const alwaysPresent = (p: ParameterInfo): boolean => p.required || p.default !== undefined;

/** A JSON payload's schema: a component schema by name, or an inline one with its own validator name. */
export interface PayloadInfo {
  /** Name of the generated validator (the component schema name, or `<op>_body` / `<op>_<status>`). */
  readonly validator: string;
  /** TypeScript type of the payload. */
  readonly tsType: string;
  /** The component schema name when the payload is a `$ref`, else undefined. */
  readonly schemaName: string | undefined;
  /** Inline schema (undefined for `$ref`s): compiled under `validator`. */
  readonly inlineSchema: Json | undefined;
}

export interface ResponseInfo {
  readonly status: number;
  readonly json: PayloadInfo | undefined;
  readonly sse: boolean;
  /** Name of the components.responses entry when the response is a `$ref`. */
  readonly componentName: string | undefined;
}

export interface OperationInfo {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** The OpenAPI path (`/v1/jobs/{job_id}`). */
  readonly path: string;
  /** The same path in Hono syntax (`/v1/jobs/:job_id`). */
  readonly honoPath: string;
  readonly pointer: string;
  readonly parameters: readonly ParameterInfo[];
  readonly body: (PayloadInfo & { readonly required: boolean }) | undefined;
  readonly responses: readonly ResponseInfo[];
}

const JSON_MEDIA_TYPE = 'application/json';
const SSE_MEDIA_TYPE = 'text/event-stream';

function tsLiteral(value: Json): string {
  return JSON.stringify(value);
}

/** TS type of a raw path or header parameter: the stubs pass those on as strings, so only string schemas are supported. */
function parameterTsType(schema: JsonObject, where: string): string {
  if (schema.type !== 'string') throw new Error(`${where}: only string parameters are supported by the server stubs (got type ${JSON.stringify(schema.type)})`);
  if (Array.isArray(schema.enum)) return schema.enum.map(tsLiteral).join(' | ');
  if (typeof schema.const === 'string') return tsLiteral(schema.const);
  return 'string';
}

function payload(schema: Json | undefined, inlineName: string, inlineTsType: string): PayloadInfo {
  const name = schemaRefName(schema);
  if (name !== undefined) return { validator: name, tsType: `S.${name}`, schemaName: name, inlineSchema: undefined };
  if (schema === undefined) throw new Error(`${inlineName}: media type without a schema`);
  return { validator: inlineName, tsType: inlineTsType, schemaName: undefined, inlineSchema: schema };
}

function parametersOf(doc: JsonObject, pathItem: JsonObject, operation: JsonObject, pointer: string): ParameterInfo[] {
  const byKey = new Map<string, ParameterInfo>();
  const lists: Array<[Json | undefined, string]> = [
    [pathItem.parameters, `${pointer.slice(0, pointer.lastIndexOf('/'))}/parameters`],
    [operation.parameters, `${pointer}/parameters`],
  ];
  for (const [list, where] of lists) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new Error(`${where}: must be an array`);
    list.forEach((raw, index) => {
      const parameter = deref(doc, raw);
      const at = `${where}/${index}`;
      const location = parameter.in;
      if (typeof parameter.name !== 'string') throw new Error(`${at}: parameter without a name`);
      if (location === 'cookie') throw new Error(`${at}: cookie parameters are not supported by the server stubs yet`);
      if (location !== 'path' && location !== 'header' && location !== 'query') throw new Error(`${at}: unknown parameter location ${JSON.stringify(location)}`);
      // Header names are case-insensitive: key them lowercased (the stub reads them so).
      const name = location === 'header' ? parameter.name.toLowerCase() : parameter.name;
      const query = location === 'query' ? queryRead(doc, parameter, at) : undefined;
      const schema = deref(doc, parameter.schema ?? null);
      byKey.set(`${location}:${name}`, {
        name,
        in: location,
        required: location === 'path' || parameter.required === true,
        schema: parameter.schema ?? null,
        tsType: query?.tsType ?? parameterTsType(schema, at),
        query,
        default: query === undefined ? undefined : schema.default,
      });
    });
  }
  const parameters = [...byKey.values()];
  const seen = new Map<string, ParameterInfo['in']>();
  for (const p of parameters) {
    const first = seen.get(p.name);
    if (first !== undefined) throw new Error(`${pointer}: parameter name ${p.name} is used twice (${first} and ${p.in}); the stubs validate them as one object`);
    seen.set(p.name, p.in);
  }
  return parameters;
}

/** Every operation in the contract, in document order (paths, then HTTP_METHODS order). */
export function listOperations(contract: Pick<Contract, 'doc'>): OperationInfo[] {
  const doc = contract.doc;
  const paths = doc.paths;
  if (!isObject(paths)) return [];
  const operations: OperationInfo[] = [];
  const seen = new Set<string>();
  for (const [path, rawItem] of Object.entries(paths)) {
    const pathItem = deref(doc, rawItem);
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (operation === undefined) continue;
      const pointer = `#/paths/${pointerToken(path)}/${method}`;
      if (!isObject(operation)) throw new Error(`${pointer}: not an object`);
      const operationId = operation.operationId;
      if (typeof operationId !== 'string' || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(operationId)) {
        throw new Error(`${pointer}: every operation needs an operationId that is an identifier (got ${JSON.stringify(operationId)})`);
      }
      if (seen.has(operationId)) throw new Error(`${pointer}: duplicate operationId ${operationId}`);
      seen.add(operationId);

      let body: OperationInfo['body'];
      if (operation.requestBody !== undefined) {
        const requestBody = deref(doc, operation.requestBody);
        const content = isObject(requestBody.content) ? requestBody.content : {};
        const media = content[JSON_MEDIA_TYPE];
        const others = Object.keys(content).filter((type) => type !== JSON_MEDIA_TYPE);
        if (!isObject(media) || others.length > 0) throw new Error(`${pointer}/requestBody: only an application/json body is supported (got ${Object.keys(content).join(', ')})`);
        body = {
          ...payload(media.schema, `${operationId}_body`, `NonNullable<operations['${operationId}']['requestBody']>['content']['application/json']`),
          required: requestBody.required === true,
        };
      }

      const responses: ResponseInfo[] = [];
      const rawResponses = isObject(operation.responses) ? operation.responses : {};
      for (const [statusKey, rawResponse] of Object.entries(rawResponses)) {
        if (!/^[1-5][0-9][0-9]$/.test(statusKey)) throw new Error(`${pointer}/responses/${statusKey}: only explicit status codes are supported (no 'default' or '4XX')`);
        const status = Number(statusKey);
        const response = deref(doc, rawResponse);
        const content = isObject(response.content) ? response.content : {};
        const jsonMedia = content[JSON_MEDIA_TYPE];
        const unsupported = Object.keys(content).filter((type) => type !== JSON_MEDIA_TYPE && type !== SSE_MEDIA_TYPE);
        if (unsupported.length > 0) throw new Error(`${pointer}/responses/${statusKey}: unsupported media type(s) ${unsupported.join(', ')}`);
        const ref = isObject(rawResponse) && typeof rawResponse.$ref === 'string' ? /^#\/components\/responses\/([^/]+)$/.exec(rawResponse.$ref)?.[1] : undefined;
        responses.push({
          status,
          json: isObject(jsonMedia)
            ? payload(jsonMedia.schema, `${operationId}_${status}`, `operations['${operationId}']['responses'][${status}]['content']['application/json']`)
            : undefined,
          sse: SSE_MEDIA_TYPE in content,
          componentName: ref,
        });
      }
      responses.sort((a, b) => a.status - b.status);

      operations.push({
        operationId,
        method,
        path,
        honoPath: path.replace(/\{([^}]+)\}/g, ':$1'),
        pointer,
        parameters: parametersOf(doc, pathItem, operation, pointer),
        body,
        responses,
      });
    }
  }
  return operations;
}
