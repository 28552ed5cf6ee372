// @llmgw/server: Hono route stubs generated from contracts/openapi.yaml, and their hand-written runtime.
export {
  operationList,
  registerRoutes,
  type CreateChatCompletionInput,
  type CreateChatCompletionResult,
  type GetHealthInput,
  type GetHealthResult,
  type GetJobInput,
  type GetJobResult,
  type GetReadinessInput,
  type GetReadinessResult,
  type Handlers,
  type ListModelsInput,
  type ListModelsResult,
  type OperationId,
} from './generated/routes.ts';
export {
  DEFAULT_ROUTE_OPTIONS,
  describeJsonSyntaxError,
  errorResponse,
  errorTypeByCode,
  isJsonContentType,
  ResponseValidationError,
  sendError,
  type AnyResult,
  type ResponseHeaders,
  type RouteOptions,
} from './core/index.ts';
