import { formatAjvErrors, type Validator, type ValidationIssue } from '@llmgw/contract';
import type { Context } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import { JSON_CONTENT_TYPE, type ResponseHeaders } from './errors.ts';

/** What any handler may return; each operation's generated Result type narrows it. */
export type AnyResult =
  | { readonly status: number; readonly body: unknown; readonly headers?: ResponseHeaders | undefined }
  | { readonly status: number; readonly sse: ReadableStream<Uint8Array>; readonly headers?: ResponseHeaders | undefined }
  | { readonly status: number; readonly headers?: ResponseHeaders | undefined };

/** Per-operation table the generator emits: which statuses and shapes the contract allows. */
export interface ResponseContract {
  readonly operationId: string;
  /** status -> body validator (JSON responses). */
  readonly json: Readonly<Record<number, Validator<unknown>>>;
  /** statuses answered with text/event-stream. */
  readonly sse: readonly number[];
  /** statuses documented without content. */
  readonly empty: readonly number[];
}

/** A handler answered with a status or body the contract does not allow. */
export class ResponseValidationError extends Error {
  readonly operationId: string;
  readonly status: number;
  readonly param: string | null;
  constructor(operationId: string, status: number, issue: ValidationIssue) {
    super(`${operationId} answered ${status} against the contract: ${issue.message}`);
    this.name = 'ResponseValidationError';
    this.operationId = operationId;
    this.status = status;
    this.param = issue.param;
  }
}

export interface RouteOptions {
  /**
   * Validate every handler result against the contract before sending it (default
   * DEFAULT_ROUTE_OPTIONS.validateResponses = false; turn on in tests and development).
   * Event streams are checked for their status only.
   */
  readonly validateResponses?: boolean;
  /** Called on a mismatch (the response is still sent). Without it, the mismatch is thrown (Hono's onError answers). */
  readonly onResponseValidationError?: (error: ResponseValidationError, c: Context) => void;
  /**
   * Answer JSON results with a Response whose headers are a plain object (default
   * DEFAULT_ROUTE_OPTIONS.ownResponseHeaders = false). Hono copies any answer with more
   * than one header into a WHATWG `Headers` object, which @hono/node-server then turns
   * back into an object: about 2 % of a small request's CPU in the bench's profile.
   * With it on, the result's headers (and the content type) are the answer's only
   * headers: anything set with `c.header()` before the handler ran is not applied to
   * JSON results. Middleware must then set its headers after `await next()`, or on
   * the Node response (`c.env.outgoing.setHeader`, which Node merges into every answer).
   */
  readonly ownResponseHeaders?: boolean;
}

export const DEFAULT_ROUTE_OPTIONS: Required<Pick<RouteOptions, 'validateResponses' | 'ownResponseHeaders'>> = Object.freeze({
  validateResponses: false,
  ownResponseHeaders: false,
});

export interface ResolvedRouteOptions {
  readonly validateResponses: boolean;
  readonly onResponseValidationError: ((error: ResponseValidationError, c: Context) => void) | undefined;
  readonly ownResponseHeaders: boolean;
}

export function resolveRouteOptions(options: RouteOptions = {}): ResolvedRouteOptions {
  return Object.freeze({
    validateResponses: options.validateResponses ?? DEFAULT_ROUTE_OPTIONS.validateResponses,
    onResponseValidationError: options.onResponseValidationError,
    ownResponseHeaders: options.ownResponseHeaders ?? DEFAULT_ROUTE_OPTIONS.ownResponseHeaders,
  });
}

const JSON_HEADERS: ResponseHeaders = Object.freeze({ 'content-type': JSON_CONTENT_TYPE }) as ResponseHeaders;
const SSE_HEADERS: ResponseHeaders = Object.freeze({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }) as ResponseHeaders;

const issue = (message: string): ValidationIssue => ({ param: null, message });

/** Checks a result against its operation's table; reports through the options. Only runs when enabled. */
export function checkResponse(c: Context, result: AnyResult, contract: ResponseContract, options: ResolvedRouteOptions): void {
  let problem: ValidationIssue | undefined;
  const status = result.status;
  if ('sse' in result) {
    if (!contract.sse.includes(status)) problem = issue(`status ${status} is not an event stream in the contract`);
  } else if ('body' in result) {
    const validator = contract.json[status];
    if (validator === undefined) problem = issue(`status ${status} has no JSON body in the contract`);
    else if (!validator(result.body)) problem = formatAjvErrors(validator.errors, { root: 'body' });
  } else if (!contract.empty.includes(status)) {
    problem = issue(`status ${status} needs a body in the contract`);
  }
  if (problem === undefined) return;
  const error = new ResponseValidationError(contract.operationId, status, problem);
  if (options.onResponseValidationError === undefined) throw error;
  options.onResponseValidationError(error, c);
}

/** Turns a handler result into a Response: JSON, an event stream, or an empty body. */
export function respond(c: Context, result: AnyResult, contract: ResponseContract | undefined, options: ResolvedRouteOptions): Response {
  if (contract !== undefined) checkResponse(c, result, contract, options);
  const headers = result.headers;
  if ('sse' in result) return c.body(result.sse, result.status as ContentfulStatusCode, headers === undefined ? SSE_HEADERS : { ...headers, ...SSE_HEADERS });
  if ('body' in result) {
    const json = JSON.stringify(result.body);
    const all = headers === undefined ? JSON_HEADERS : { ...headers, ...JSON_HEADERS };
    if (options.ownResponseHeaders) return new Response(json, { status: result.status, headers: all });
    return c.body(json, result.status as ContentfulStatusCode, all);
  }
  return c.body(null, result.status as StatusCode, headers);
}
