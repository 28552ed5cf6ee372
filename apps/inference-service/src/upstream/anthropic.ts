/**
 * Anthropic Messages adapter (`POST {baseUrl}/v1/messages`).
 *
 * `baseUrl` is the API origin without the version (`https://api.anthropic.com`),
 * as in the official SDK. System messages become the top-level `system`;
 * `max_tokens` is required by the API, so a default fills it in; structured
 * output goes into the system prompt (the gateway validates the answer).
 */
import type { Dispatcher } from 'undici';
import { GatewayError } from '@llmgw/resilience';
import { completeExchange, header, httpError, invalidBody, streamExchange, type Exchange, type ResponseHeaders } from './http.ts';
import { MALFORMED, inBandError, unparsedChunk, type StreamDecoder } from './stream.ts';
import { jsonInstruction } from './structured.ts';
import type {
  CallOptions,
  FinishReason,
  Provider,
  RateLimitInfo,
  TokenUsage,
  UpstreamCompletion,
  UpstreamRequest,
  UpstreamStream,
  UpstreamStreamEvent,
} from './types.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
/** Used when a request does not say `max_tokens` (the API requires it). */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 1024;

export interface AnthropicProviderOptions {
  name: string;
  baseUrl: string;
  /** Sent as `x-api-key`. */
  apiKey?: string;
  dispatcher: Dispatcher;
  /** Default `max_tokens` (DEFAULT_ANTHROPIC_MAX_TOKENS). */
  maxTokens?: number;
}

const STOP_REASON: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  refusal: 'content_filter',
  tool_use: 'tool_calls',
};

// Anthropic has no error code for these; the message text says it.
const CONTEXT_MESSAGE = /prompt is too long|context (window|length)|too many (input )?tokens/i;
const POLICY_MESSAGE = /content (policy|filter)|usage polic|safety/i;

export function createAnthropicProvider(options: AnthropicProviderOptions): Provider {
  return new AnthropicProvider(options);
}

interface AnthropicWireRequest {
  model: string;
  max_tokens: number;
  system?: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  stream?: boolean;
}

class AnthropicProvider implements Provider {
  readonly kind = 'anthropic' as const;
  readonly name: string;
  readonly #dispatcher: Dispatcher;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #maxTokens: number;

  constructor(options: AnthropicProviderOptions) {
    this.name = options.name;
    this.#dispatcher = options.dispatcher;
    this.#path = `${new URL(options.baseUrl).pathname.replace(/\/+$/, '')}/v1/messages`;
    this.#headers = { 'content-type': 'application/json', accept: 'application/json', 'anthropic-version': ANTHROPIC_VERSION };
    if (options.apiKey) this.#headers['x-api-key'] = options.apiKey;
    this.#maxTokens = options.maxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS;
  }

  async complete(req: UpstreamRequest, opts: CallOptions): Promise<UpstreamCompletion> {
    return completeExchange<AnthropicMessage>(this.#exchange(req, opts, false), (json, headers) => {
      if (json === null || typeof json !== 'object' || !Array.isArray(json.content)) throw invalidBody(this.name, EXPECTED, 'no content');
      let content = '';
      for (const block of json.content) if (block?.type === 'text' && typeof block.text === 'string') content += block.text;
      return {
        id: typeof json.id === 'string' ? json.id : (header(headers, 'request-id') ?? ''),
        model: typeof json.model === 'string' ? json.model : req.model,
        content,
        finishReason: STOP_REASON[json.stop_reason ?? 'end_turn'] ?? 'stop',
        usage: { promptTokens: json.usage?.input_tokens ?? 0, completionTokens: json.usage?.output_tokens ?? 0 },
        refusal: null,
      };
    });
  }

  async stream(req: UpstreamRequest, opts: CallOptions): Promise<UpstreamStream> {
    return streamExchange(this.#exchange(req, opts, true), (headers) => new AnthropicStreamDecoder(this.name, header(headers, 'request-id') ?? '', req.model));
  }

  #exchange(req: UpstreamRequest, opts: CallOptions, stream: boolean): Exchange<AnthropicMessage> {
    return {
      upstream: this.name,
      dispatcher: this.#dispatcher,
      spec: { path: this.#path, headers: this.#requestHeaders(opts, stream), body: JSON.stringify(this.toWire(req, stream)) },
      opts,
      error: (status, headers, body) => this.#error(status, headers, body),
      rateLimit: (headers) => rateLimitOf(headers),
      expected: EXPECTED,
    };
  }

  /** Our request in the Messages wire format (exported for tests through the class). */
  toWire(req: UpstreamRequest, stream: boolean): AnthropicWireRequest {
    let system: string | undefined;
    const messages: AnthropicWireRequest['messages'] = [];
    for (const m of req.messages) {
      if (m.role === 'system') system = system === undefined ? m.content : `${system}\n\n${m.content}`;
      else messages.push({ role: m.role, content: m.content });
    }
    const instruction = jsonInstruction(req.responseFormat);
    if (instruction !== undefined) system = system === undefined ? instruction : `${system}\n\n${instruction}`;
    const wire: AnthropicWireRequest = { model: req.model, max_tokens: req.maxTokens ?? this.#maxTokens, messages };
    if (system !== undefined) wire.system = system;
    if (req.temperature !== undefined) wire.temperature = req.temperature;
    if (req.topP !== undefined) wire.top_p = req.topP;
    if (req.stop !== undefined && req.stop.length > 0) wire.stop_sequences = req.stop;
    if (req.user !== undefined) wire.metadata = { user_id: req.user };
    if (stream) wire.stream = true;
    return wire;
  }

  #requestHeaders(opts: CallOptions, stream: boolean): Record<string, string> {
    const base = stream ? { ...this.#headers, accept: 'text/event-stream' } : this.#headers;
    return opts.headers === undefined ? base : { ...opts.headers, ...base };
  }

  #error(status: number, headers: ResponseHeaders, body: unknown): GatewayError {
    return httpError(this.name, status, headers, body, classifyAnthropicError(status, body));
  }
}

/** What an Anthropic error body (`{type: "error", error: {type, message}}`) says beyond its status. */
export function classifyAnthropicError(status: number, body: unknown): 'context_length' | 'content_policy' | undefined {
  const error = (body as { error?: { type?: unknown; message?: unknown } } | undefined)?.error;
  if (error === undefined || (status !== 400 && status !== 413 && status !== 0)) return undefined;
  const message = typeof error.message === 'string' ? error.message : '';
  if (error.type === 'request_too_large' || CONTEXT_MESSAGE.test(message)) return 'context_length';
  if (POLICY_MESSAGE.test(message)) return 'content_policy';
  return undefined;
}

const EXPECTED = 'a message';

interface AnthropicMessage {
  id?: string;
  model?: string;
  content?: Array<{ type?: string; text?: string } | null>;
  stop_reason?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number };
}

/** `anthropic-ratelimit-requests-remaining` / `-reset` (an RFC 3339 time); undefined when absent. */
export function rateLimitOf(headers: ResponseHeaders, now = Date.now()): RateLimitInfo | undefined {
  const remaining = header(headers, 'anthropic-ratelimit-requests-remaining');
  const reset = header(headers, 'anthropic-ratelimit-requests-reset');
  if (remaining === undefined && reset === undefined) return undefined;
  const info: RateLimitInfo = {};
  if (remaining !== undefined && remaining !== '') {
    const n = Number(remaining);
    if (Number.isFinite(n)) info.remainingRequests = n;
  }
  if (reset !== undefined) {
    const at = Date.parse(reset);
    if (!Number.isNaN(at)) info.resetRequestsMs = Math.max(0, at - now);
  }
  return info;
}

interface AnthropicEvent {
  type?: string;
  message?: { id?: string; model?: string; usage?: { input_tokens?: number; output_tokens?: number } };
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: { input_tokens?: number; output_tokens?: number };
  error?: { type?: string; message?: string };
}

/**
 * Messages stream events -> our events: `content_block_delta` text -> delta;
 * `message_delta` carries the stop reason and output tokens; `message_stop`
 * ends it. The finish is emitted at `message_stop` or the clean end of the body.
 */
class AnthropicStreamDecoder implements StreamDecoder {
  id: string;
  model: string;
  readonly #upstream: string;
  #finish: FinishReason | undefined;
  #usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  #flushed = false;

  constructor(upstream: string, id: string, model: string) {
    this.#upstream = upstream;
    this.id = id;
    this.model = model;
  }

  event(data: string, _type: string | undefined, out: UpstreamStreamEvent[]): boolean {
    let ev: AnthropicEvent;
    try {
      ev = JSON.parse(data) as AnthropicEvent;
    } catch {
      unparsedChunk(this.#upstream, data, out);
      return false;
    }
    if (ev === null || typeof ev !== 'object') {
      out.push(MALFORMED);
      return false;
    }
    switch (ev.type) {
      case 'content_block_delta': {
        const text = ev.delta?.text;
        if (ev.delta?.type === 'text_delta' && typeof text === 'string' && text !== '') out.push({ type: 'delta', content: text });
        return false;
      }
      case 'message_start': {
        const m = ev.message;
        if (typeof m?.id === 'string') this.id = m.id;
        if (typeof m?.model === 'string') this.model = m.model;
        if (m?.usage) {
          this.#usage.promptTokens = m.usage.input_tokens ?? 0;
          this.#usage.completionTokens = m.usage.output_tokens ?? 0;
        }
        return false;
      }
      case 'message_delta': {
        const reason = ev.delta?.stop_reason;
        if (reason) this.#finish = STOP_REASON[reason] ?? 'stop';
        // message_delta usage is cumulative.
        if (ev.usage?.output_tokens !== undefined) this.#usage.completionTokens = ev.usage.output_tokens;
        if (ev.usage?.input_tokens !== undefined) this.#usage.promptTokens = ev.usage.input_tokens;
        return false;
      }
      case 'message_stop':
        this.#flush(out);
        return true;
      case 'error': {
        const special = classifyAnthropicError(0, ev);
        if (special) throw httpError(this.#upstream, 400, {}, ev, special);
        throw inBandError(this.#upstream, ev);
      }
      default:
        return false; // ping, content_block_start/stop, unknown future events
    }
  }

  end(out: UpstreamStreamEvent[]): boolean {
    this.#flush(out);
    return this.#flushed;
  }

  #flush(out: UpstreamStreamEvent[]): void {
    if (this.#flushed || this.#finish === undefined) return;
    this.#flushed = true;
    out.push({ type: 'finish', finishReason: this.#finish, usage: this.#usage });
  }
}
