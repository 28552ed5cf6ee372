// @llmgw/server: Hono route stubs generated from contracts/openapi.yaml, and their hand-written runtime.
// Everything the generated file exports is public (the registrar, the operation list, the
// handler table and each operation's Input/Result types): re-exported whole, so an operation added
// to the contract needs no edit here (GetModelInput/Result had been left out of a hand-kept list).
export * from './generated/routes.ts';
export {
  DEFAULT_ROUTE_OPTIONS,
  describeJsonSyntaxError,
  errorResponse,
  errorTypeByCode,
  isJsonContentType,
  requestHeader,
  ResponseValidationError,
  sendError,
  type AnyResult,
  type ResponseHeaders,
  type RouteOptions,
} from './core/index.ts';
