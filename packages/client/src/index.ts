export { createLlmClient, DEFAULT_JOB_POLL_MS, DEFAULT_JOB_WAIT_TIMEOUT_MS, DEFAULT_STREAM_IDLE_TIMEOUT_MS, DEFAULT_TIMEOUT_MS } from './core/client.ts';
export type {
  ChatCompletionCreateParams,
  ChatCompletionStreamParams,
  JobWaitOptions,
  LlmClient,
  LlmClientOptions,
  RequestOptions,
} from './core/client.ts';
export {
  AuthenticationError,
  BadRequestError,
  CircuitOpenError,
  ConnectionError,
  InvalidResponseError,
  isLlmApiError,
  JobFailedError,
  LlmApiError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServerError,
  StreamInterruptedError,
  TimeoutError,
} from './core/errors.ts';
export type { LlmApiErrorInit } from './core/errors.ts';
export { ApiPromise } from './core/meta.ts';
export type { ResponseMeta, WithResponse } from './core/meta.ts';
export { ChatCompletionStream } from './core/streaming.ts';
export { parseRetryAfterMs } from './core/retry-after.ts';
export { withResilience } from './core/resilient.ts';
export type { ResilienceOptions, ResilientLlmClient } from './core/resilient.ts';
export { agreement } from './generated/agreement.ts';
export type { Agreement, AgreementModel } from './generated/agreement.ts';
export { operationRoutes } from './generated/operations.ts';
export type { OperationId, Operations } from './generated/operations.ts';
export type { components, operations, paths } from './generated/types.ts';
export type * from './core/models.ts';
