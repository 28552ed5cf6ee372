/**
 * Span attribute names: OpenTelemetry GenAI semantic conventions (still
 * "development" status upstream, so we keep our own constants instead of
 * importing the incubating entry point) plus the gateway's own `llm.*` ones.
 */

export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
/** Current name of the provider attribute. */
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
/** Older name of the same thing; still read by many backends, so both are set. */
export const ATTR_GEN_AI_SYSTEM = 'gen_ai.system';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';

export const ATTR_LLM_RETRY_ATTEMPT = 'llm.retry.attempt';
export const ATTR_LLM_ATTEMPT_OUTCOME = 'llm.attempt.outcome';
export const ATTR_LLM_FALLBACK_STRATEGY = 'llm.fallback.strategy';

export const GEN_AI_OPERATION_CHAT = 'chat';
