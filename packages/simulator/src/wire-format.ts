/**
 * What differs between the OpenAI and Anthropic wire formats, behind one
 * interface: error bodies, ids, headers, and the bytes of bodies and streams.
 * Stream frames are built from per-exchange prefix/suffix strings so each
 * chunk costs one string concatenation, not a JSON.stringify.
 */
import type { Answer } from './answer.ts';
import type { WireFormat } from './scenario.ts';

export interface ErrorDetails {
  readonly message?: string | undefined;
  readonly type?: string | undefined;
  readonly code?: string | null | undefined;
  readonly param?: string | null | undefined;
}

/** Per-exchange facts that appear in bodies. */
export interface Exchange {
  readonly seq: number;
  readonly requestId: string;
  readonly created: number; // unix seconds
  readonly model: string;
  readonly promptTokens: number;
  readonly includeUsage: boolean;
}

/** The byte strings of one streamed answer. */
export interface StreamFrames {
  /** Everything before the first content piece. */
  readonly head: string;
  piece(pieceJson: string): string;
  /** Everything after the last piece; without the terminator when `terminate` is false. */
  tail(answer: Answer, terminate: boolean): string;
  /** A frame whose data line is not JSON (the stream goes on after it). */
  malformed(payload: string | undefined): string;
}

export interface RateLimitSnapshot {
  readonly limitRequests: number;
  readonly remainingRequests: number;
  readonly limitTokens: number;
  readonly remainingTokens: number;
  /** Milliseconds until the window resets. */
  readonly resetMs: number;
  /** Absolute reset time, epoch ms. */
  readonly resetAt: number;
}

export interface WireFormatter {
  readonly format: WireFormat;
  requestId(seq: number): string;
  errorBody(status: number, details: ErrorDetails, requestId: string): string;
  /** Headers every answer of this format carries (request id, rate limits). */
  commonHeaders(requestId: string, limits: RateLimitSnapshot): Record<string, string>;
  completionBody(exchange: Exchange, answer: Answer): string;
  streamFrames(exchange: Exchange): StreamFrames;
}

export const JSON_CONTENT_TYPE = 'application/json';
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

// ---- OpenAI -------------------------------------------------------------------

const OPENAI_ERRORS: Readonly<Record<number, { type: string; code: string | null; message: string }>> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: 'permission_denied', message: 'You are not allowed to use this model.' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist or you do not have access to it.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests. Please try again later.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!' },
  502: { type: 'server_error', code: null, message: 'Bad gateway.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
  504: { type: 'server_error', code: 'timeout', message: 'Gateway timeout.' },
};

/** OpenAI's reset header style: "20ms", "1.5s", "6m0s". */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Number(((ms - minutes * 60_000) / 1000).toFixed(3))}s`;
}

export const openAiFormat: WireFormatter = {
  format: 'openai',
  requestId: (seq) => `req_sim${seq.toString(16).padStart(12, '0')}`,
  errorBody(status, details) {
    const defaults = OPENAI_ERRORS[status] ?? {
      type: status < 500 ? 'invalid_request_error' : 'server_error',
      code: null,
      message: `Simulated error ${status}.`,
    };
    return JSON.stringify({
      error: {
        message: details.message ?? defaults.message,
        type: details.type ?? defaults.type,
        param: details.param ?? null,
        code: details.code === undefined ? defaults.code : details.code,
      },
    });
  },
  commonHeaders(requestId, limits) {
    return {
      'x-request-id': requestId,
      'openai-processing-ms': '1',
      'x-ratelimit-limit-requests': String(limits.limitRequests),
      'x-ratelimit-remaining-requests': String(limits.remainingRequests),
      'x-ratelimit-reset-requests': formatResetDuration(limits.resetMs),
      'x-ratelimit-limit-tokens': String(limits.limitTokens),
      'x-ratelimit-remaining-tokens': String(limits.remainingTokens),
      'x-ratelimit-reset-tokens': formatResetDuration(limits.resetMs),
    };
  },
  completionBody(x, answer) {
    return (
      `{"id":"chatcmpl-sim${x.seq}","object":"chat.completion","created":${x.created},"model":${JSON.stringify(x.model)},` +
      `"choices":[{"index":0,"message":{"role":"assistant","content":${answer.textJson},"refusal":null,"annotations":[]},` +
      `"logprobs":null,"finish_reason":"${answer.finishReason}"}],` +
      `"usage":${openAiUsage(x.promptTokens, answer.completionTokens)},"service_tier":"default","system_fingerprint":"fp_sim"}`
    );
  },
  streamFrames(x) {
    const common = `data: {"id":"chatcmpl-sim${x.seq}","object":"chat.completion.chunk","created":${x.created},"model":${JSON.stringify(x.model)},"service_tier":"default","system_fingerprint":"fp_sim","choices":[`;
    // With include_usage every chunk carries "usage": null until the last one.
    const end = x.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
    const piecePrefix = `${common}{"index":0,"delta":{"content":`;
    const pieceSuffix = `},"logprobs":null,"finish_reason":null}${end}`;
    return {
      head: `${common}{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}${end}`,
      piece: (json) => piecePrefix + json + pieceSuffix,
      tail(answer, terminate) {
        let out = `${common}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${answer.finishReason}"}${end}`;
        if (x.includeUsage) out += `${common}],"usage":${openAiUsage(x.promptTokens, answer.completionTokens)}}\n\n`;
        if (terminate) out += 'data: [DONE]\n\n';
        return out;
      },
      malformed: (payload) => `data: ${payload ?? `${common.slice(6)}{"index":0,"delta":{"content":"`}\n\n`,
    };
  },
};

function openAiUsage(prompt: number, completion: number): string {
  return (
    `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},` +
    `"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
    `"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
  );
}

// ---- Anthropic ----------------------------------------------------------------

const ANTHROPIC_ERRORS: Readonly<Record<number, { type: string; message: string }>> = {
  400: { type: 'invalid_request_error', message: 'Invalid request.' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  402: { type: 'billing_error', message: 'Billing issue.' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'The requested resource could not be found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'Number of requests has exceeded your per-minute rate limit.' },
  500: { type: 'api_error', message: 'Internal server error' },
  504: { type: 'timeout_error', message: 'Request timed out' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

const ANTHROPIC_STOP_REASON: Readonly<Record<Answer['finishReason'], string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  content_filter: 'refusal',
};

function anthropicStop(answer: Answer): string {
  if (answer.stopSequence !== undefined) return `"stop_reason":"stop_sequence","stop_sequence":${JSON.stringify(answer.stopSequence)}`;
  return `"stop_reason":"${ANTHROPIC_STOP_REASON[answer.finishReason]}","stop_sequence":null`;
}

export const anthropicFormat: WireFormatter = {
  format: 'anthropic',
  requestId: (seq) => `req_sim${seq.toString(16).padStart(12, '0')}`,
  errorBody(status, details, requestId) {
    const defaults = ANTHROPIC_ERRORS[status] ?? {
      type: status < 500 ? 'invalid_request_error' : 'api_error',
      message: `Simulated error ${status}.`,
    };
    return JSON.stringify({
      type: 'error',
      error: { type: details.type ?? defaults.type, message: details.message ?? defaults.message },
      request_id: requestId,
    });
  },
  commonHeaders(requestId, limits) {
    const reset = new Date(limits.resetAt).toISOString();
    return {
      'request-id': requestId,
      'anthropic-ratelimit-requests-limit': String(limits.limitRequests),
      'anthropic-ratelimit-requests-remaining': String(limits.remainingRequests),
      'anthropic-ratelimit-requests-reset': reset,
      'anthropic-ratelimit-tokens-limit': String(limits.limitTokens),
      'anthropic-ratelimit-tokens-remaining': String(limits.remainingTokens),
      'anthropic-ratelimit-tokens-reset': reset,
    };
  },
  completionBody(x, answer) {
    return (
      `{"id":"msg_sim${x.seq}","type":"message","role":"assistant","model":${JSON.stringify(x.model)},` +
      `"content":[{"type":"text","text":${answer.textJson}}],${anthropicStop(answer)},` +
      `"usage":{"input_tokens":${x.promptTokens},"output_tokens":${answer.completionTokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`
    );
  },
  streamFrames(x) {
    const message =
      `{"id":"msg_sim${x.seq}","type":"message","role":"assistant","model":${JSON.stringify(x.model)},"content":[],` +
      `"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${x.promptTokens},"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`;
    const piecePrefix = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":';
    return {
      head:
        `event: message_start\ndata: {"type":"message_start","message":${message}}\n\n` +
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
        'event: ping\ndata: {"type":"ping"}\n\n',
      piece: (json) => `${piecePrefix}${json}}}\n\n`,
      tail(answer, terminate) {
        let out =
          'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
          `event: message_delta\ndata: {"type":"message_delta","delta":{${anthropicStop(answer)}},"usage":{"output_tokens":${answer.completionTokens}}}\n\n`;
        if (terminate) out += 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
        return out;
      },
      malformed: (payload) =>
        `event: content_block_delta\ndata: ${payload ?? '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"'}\n\n`,
    };
  },
};
