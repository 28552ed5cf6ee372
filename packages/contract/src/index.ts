// @llmgw/contract: everything generated from contracts/openapi.yaml, plus hand-written validation helpers.
export type { $defs, components, operations, paths, webhooks } from './generated/types.ts';
export type * from './generated/schemas.ts';
export * as validators from './generated/validators.js';
export type { Validator } from './generated/validators.js';
export {
  agreement,
  modelTerms,
  retryableByStatus,
  type Agreement,
  type AgreementCircuitBreaker,
  type AgreementFallbackStep,
  type AgreementModel,
  type AgreementModelSlo,
  type AgreementRetry,
  type AgreementTimeouts,
  type DocumentedErrorStatus,
  type ModelName,
  type ResolvedModelTerms,
} from './generated/agreement.ts';
export { contractSha256, openapiDocument, openapiJson, openapiYaml, type OpenApiDocument } from './generated/document.ts';
export {
  assertValid,
  ContractValidationError,
  formatAjvErrors,
  pointerToParam,
  validate,
  type FormatOptions,
  type Validated,
  type ValidationIssue,
  type ValidationResult,
  type ValidatorName,
} from './validation.ts';
