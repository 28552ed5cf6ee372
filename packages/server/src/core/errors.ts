import type { ErrorCode, ErrorResponse, ErrorType } from '@llmgw/contract';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The envelope `type` for each contract error code (OpenAI's convention: a missing model is an
 * invalid request). Typed over the generated ErrorCode: a new code fails type checking here.
 */
export const errorTypeByCode: Readonly<Record<ErrorCode, ErrorType>> = Object.freeze({
  invalid_request: 'invalid_request_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  model_not_found: 'invalid_request_error',
  job_not_found: 'not_found_error',
  request_timeout: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  unprocessable_entity: 'invalid_request_error',
  rate_limit_exceeded: 'rate_limit_error',
  token_budget_exceeded: 'rate_limit_error',
  context_length_exceeded: 'invalid_request_error',
  content_policy_violation: 'invalid_request_error',
  invalid_model_output: 'server_error',
  upstream_timeout: 'timeout_error',
  upstream_unavailable: 'server_error',
  upstream_error: 'server_error',
  circuit_open: 'server_error',
  bulkhead_rejected: 'server_error',
  stream_interrupted: 'server_error',
  internal_error: 'server_error',
});

/** Builds the contract's error envelope. */
export function errorResponse(code: ErrorCode, message: string, param: string | null = null): ErrorResponse {
  return { error: { code, message, type: errorTypeByCode[code], param } };
}

/** Response headers as a plain record (what handlers may add to a result). */
export type ResponseHeaders = Record<string, string>;

export const JSON_CONTENT_TYPE = 'application/json';
const JSON_HEADERS: ResponseHeaders = Object.freeze({ 'content-type': JSON_CONTENT_TYPE }) as ResponseHeaders;

/** Sends the error envelope as JSON with `status`; headers set earlier with `c.header()` are kept. */
export function sendError(c: Context, status: ContentfulStatusCode, code: ErrorCode, message: string, param: string | null = null, headers?: ResponseHeaders): Response {
  return c.body(JSON.stringify(errorResponse(code, message, param)), status, headers === undefined ? JSON_HEADERS : { ...headers, ...JSON_HEADERS });
}
