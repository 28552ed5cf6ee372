import { formatAjvErrors } from '@llmgw/contract';
import type { ErrorObject } from 'ajv';
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { sendError } from './errors.ts';
import { describeJsonSyntaxError } from './json-error.ts';

// application/json, optionally with `charset=utf-8` (any case, optional quotes, spaces around ';').
const JSON_TYPE_WITH_PARAMS = /^application\/json\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;

/**
 * A request header as `c.req.raw.headers.get(name)` gives it (`name` in lower case; a repeated
 * header's values joined with ", "), read from Node's own header object when the request came
 * through @hono/node-server and repeats no header name (nearly always). Node has built that
 * object already; `c.req.raw.headers` builds a WHATWG Headers object first, about 2 us a
 * request. Node keeps only the first of some repeated headers (Authorization, Content-Type...),
 * so a request that repeats a name is read through the WHATWG object, as before.
 */
export function requestHeader(c: Context, name: string): string | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming === undefined || repeatsAName(incoming)) return c.req.raw.headers.get(name);
  const value = incoming.headers[name];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.join(', ');
}

/**
 * Node merges repeated names into one field: fewer fields than raw name/value pairs. Counted
 * again on each lookup: for a handful of fields that is cheaper than remembering the answer per
 * request (a WeakMap took 0.95-1.1 us for a request's six lookups, recounting 0.2-0.4 us).
 */
function repeatsAName(incoming: IncomingMessage): boolean {
  let fields = 0;
  for (const _ in incoming.headers) fields++;
  return fields * 2 !== incoming.rawHeaders.length;
}

/** Whether a Content-Type header is JSON we accept. The exact common value skips the regex. */
export function isJsonContentType(value: string | null): boolean {
  return value === 'application/json' || (value !== null && JSON_TYPE_WITH_PARAMS.test(value));
}

/** 415 `unsupported_media_type`, naming what was sent (only the media type, never the body). */
export function sendUnsupportedMediaType(c: Context, contentType: string | null): Response {
  const got = contentType === null ? 'no Content-Type' : (contentType.split(';')[0] ?? '').trim().slice(0, 100) || 'an empty Content-Type';
  return sendError(c, 415, 'unsupported_media_type', `Content-Type must be application/json, got ${got}.`);
}

/**
 * Reads the body as text and parses it. Returns the parsed value, or a 400 Response (the caller
 * checks `instanceof Response`: JSON.parse never yields one).
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return sendError(c, 400, 'invalid_request', describeJsonSyntaxError(text));
  }
}

/** 400 `invalid_request` for a body that fails its schema: message names the field, `param` its path. */
export function sendBodyError(c: Context, errors: readonly ErrorObject[] | null | undefined): Response {
  const issue = formatAjvErrors(errors, { root: 'body' });
  return sendError(c, 400, 'invalid_request', issue.message, issue.param);
}

/** 400 `invalid_request` for a path, header or query parameter that fails its schema: `param` names it. */
export function sendParamsError(c: Context, errors: readonly ErrorObject[] | null | undefined): Response {
  const issue = formatAjvErrors(errors, { root: 'parameters' });
  return sendError(c, 400, 'invalid_request', issue.message, issue.param);
}
