// Hand-written runtime of the generated routes. The generated code imports from here, never the reverse.
export { errorResponse, errorTypeByCode, JSON_CONTENT_TYPE, sendError, type ResponseHeaders } from './errors.ts';
export { describeJsonSyntaxError, jsonSyntaxErrorOffset } from './json-error.ts';
export { isJsonContentType, readJsonBody, requestHeader, sendBodyError, sendParamsError, sendUnsupportedMediaType } from './request.ts';
export { queryBoolean, queryBooleans, queryNumber, queryNumbers } from './query.ts';
export {
  checkResponse,
  DEFAULT_ROUTE_OPTIONS,
  respond,
  resolveRouteOptions,
  ResponseValidationError,
  type AnyResult,
  type ResolvedRouteOptions,
  type ResponseContract,
  type RouteOptions,
} from './respond.ts';
