/**
 * OpenAI Chat Completions adapter. Speaks to anything OpenAI-compatible:
 * OpenAI itself, vLLM, Ollama (`/v1`), llama.cpp server, the simulator.
 *
 * `baseUrl` includes the API version path, as in the official SDK
 * (`https://api.openai.com/v1`, `http://localhost:11434/v1`); the adapter
 * appends `/chat/completions`.
 */
import type { Dispatcher } from 'undici';
import { GatewayError, parseDuration } from '@llmgw/resilience';
import { completeExchange, header, httpError, invalidBody, streamExchange, type Exchange, type ResponseHeaders } from './http.ts';
import { contentDeltaOf, otherChunkOf } from './openai-chunk.ts';
import { MALFORMED, inBandError, unparsedChunk, type StreamDecoder } from './stream.ts';
import { jsonInstruction, withInstruction } from './structured.ts';
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

export interface OpenAiProviderOptions {
  /** The upstream's name in the routes file. */
  name: string;
  baseUrl: string;
  /** Sent as `Authorization: Bearer`; omitted when undefined (local servers). */
  apiKey?: string;
  /** The pool for the base URL's origin (pool.ts). */
  dispatcher: Dispatcher;
  /**
   * Whether the upstream understands `response_format: {type: "json_schema"}`
   * (default true). When false, schemas go into the system prompt and
   * `json_object` mode is asked for. A request's `nativeJsonSchema` overrides it.
   */
  jsonSchema?: boolean;
}

const FINISH: Readonly<Record<string, FinishReason>> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
};

const CONTEXT_CODES: ReadonlySet<string> = new Set(['context_length_exceeded', 'string_above_max_length']);
const POLICY_CODES: ReadonlySet<string> = new Set(['content_policy_violation', 'content_filter']);

export function createOpenAiProvider(options: OpenAiProviderOptions): Provider {
  return new OpenAiProvider(options);
}

class OpenAiProvider implements Provider {
  readonly kind = 'openai' as const;
  readonly name: string;
  readonly #dispatcher: Dispatcher;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #jsonSchema: boolean;

  constructor(options: OpenAiProviderOptions) {
    this.name = options.name;
    this.#dispatcher = options.dispatcher;
    this.#path = `${new URL(options.baseUrl).pathname.replace(/\/+$/, '')}/chat/completions`;
    this.#headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey) this.#headers['authorization'] = `Bearer ${options.apiKey}`;
    this.#jsonSchema = options.jsonSchema ?? true;
  }

  async complete(req: UpstreamRequest, opts: CallOptions): Promise<UpstreamCompletion> {
    return completeExchange<OpenAiCompletion>(this.#exchange(req, opts, false), (json, headers) => {
      const choice = json?.choices?.[0];
      if (choice === undefined || choice === null) throw invalidBody(this.name, EXPECTED, 'no choices');
      const message = choice.message ?? {};
      return {
        id: typeof json.id === 'string' ? json.id : (header(headers, 'x-request-id') ?? ''),
        model: typeof json.model === 'string' ? json.model : req.model,
        content: typeof message.content === 'string' ? message.content : '',
        finishReason: FINISH[choice.finish_reason ?? 'stop'] ?? 'stop',
        usage: usageOf(json.usage) ?? { promptTokens: 0, completionTokens: 0 },
        refusal: message.refusal ?? null,
      };
    });
  }

  async stream(req: UpstreamRequest, opts: CallOptions): Promise<UpstreamStream> {
    return streamExchange(this.#exchange(req, opts, true), (headers) => new OpenAiStreamDecoder(this.name, header(headers, 'x-request-id') ?? '', req.model));
  }

  #exchange(req: UpstreamRequest, opts: CallOptions, stream: boolean): Exchange<OpenAiCompletion> {
    return {
      upstream: this.name,
      dispatcher: this.#dispatcher,
      spec: { path: this.#path, headers: this.#requestHeaders(opts, stream), body: this.#body(req, stream) },
      opts,
      error: (status, headers, body) => this.#error(status, headers, body),
      rateLimit: rateLimitOf,
      expected: EXPECTED,
    };
  }

  #requestHeaders(opts: CallOptions, stream: boolean): Record<string, string> {
    const base = stream ? { ...this.#headers, accept: 'text/event-stream' } : this.#headers;
    return opts.headers === undefined ? base : { ...opts.headers, ...base };
  }

  #body(req: UpstreamRequest, stream: boolean): string {
    let messages = req.messages;
    let responseFormat: unknown;
    const format = req.responseFormat;
    if (format !== undefined && format.type !== 'text') {
      const native = req.nativeJsonSchema ?? this.#jsonSchema;
      if (native && format.schema !== undefined) {
        responseFormat = {
          type: 'json_schema',
          json_schema: {
            name: format.type === 'json_schema' ? format.name : 'response',
            schema: format.schema,
            ...(format.type === 'json_schema' && format.strict != null ? { strict: format.strict } : {}),
          },
        };
      } else {
        // json_object mode needs the word "JSON" in the prompt; the instruction carries it and the schema.
        responseFormat = { type: 'json_object' };
        messages = withInstruction(messages, jsonInstruction(format)!);
      }
    } else if (format !== undefined) {
      responseFormat = { type: 'text' };
    }
    return JSON.stringify({
      model: req.model,
      messages,
      temperature: req.temperature,
      top_p: req.topP,
      max_tokens: req.maxTokens,
      stop: req.stop,
      seed: req.seed,
      user: req.user,
      response_format: responseFormat,
      stream: stream || undefined,
      stream_options: stream ? { include_usage: true } : undefined,
    });
  }

  #error(status: number, headers: ResponseHeaders, body: unknown): GatewayError {
    return httpError(this.name, status, headers, body, classifyOpenAiError(body));
  }
}

/** What an OpenAI error body says beyond its status. */
export function classifyOpenAiError(body: unknown): 'context_length' | 'content_policy' | undefined {
  const error = (body as { error?: { code?: unknown; type?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : undefined;
  if (code === undefined) return undefined;
  if (CONTEXT_CODES.has(code)) return 'context_length';
  if (POLICY_CODES.has(code)) return 'content_policy';
  return undefined;
}

const EXPECTED = 'a chat completion';

interface OpenAiUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

interface OpenAiCompletion {
  id?: string;
  model?: string;
  choices?: Array<{ message?: { content?: string | null; refusal?: string | null }; finish_reason?: string | null } | null>;
  usage?: OpenAiUsage | null;
}

interface OpenAiChunk {
  id?: string;
  model?: string;
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: OpenAiUsage | null;
  error?: unknown;
}

function usageOf(usage: OpenAiUsage | null | undefined): TokenUsage | undefined {
  if (usage == null) return undefined;
  return { promptTokens: usage.prompt_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0 };
}

/** `x-ratelimit-remaining-requests` / `x-ratelimit-reset-requests` ("1s", "6m0s"); undefined when absent. */
export function rateLimitOf(headers: ResponseHeaders): RateLimitInfo | undefined {
  const remaining = header(headers, 'x-ratelimit-remaining-requests');
  const reset = header(headers, 'x-ratelimit-reset-requests');
  if (remaining === undefined && reset === undefined) return undefined;
  const info: RateLimitInfo = {};
  if (remaining !== undefined && remaining !== '') {
    const n = Number(remaining);
    if (Number.isFinite(n)) info.remainingRequests = n;
  }
  if (reset !== undefined) {
    const ms = parseDuration(reset);
    if (ms !== undefined) info.resetRequestsMs = ms;
  }
  return info;
}

/**
 * OpenAI chunks -> events. With `include_usage` the usage comes in its own
 * chunk after the one with `finish_reason`, so the finish is held until the
 * usage chunk, `[DONE]`, or the clean end of the body.
 */
class OpenAiStreamDecoder implements StreamDecoder {
  id: string;
  model: string;
  readonly #upstream: string;
  #seenFirst = false;
  #finish: FinishReason | undefined;
  #usage: TokenUsage | undefined;
  #flushed = false;

  constructor(upstream: string, id: string, model: string) {
    this.#upstream = upstream;
    this.id = id;
    this.model = model;
  }

  event(data: string, _type: string | undefined, out: UpstreamStreamEvent[]): boolean {
    if (data === '[DONE]') {
      this.#flush(out);
      return true;
    }
    // After the first chunk (its id and model are read in full), most chunks are a bare
    // content delta: read those without building the object (openai-chunk.ts).
    if (this.#seenFirst) {
      const content = contentDeltaOf(data);
      if (content !== undefined) {
        if (content !== '') out.push({ type: 'delta', content });
        return false;
      }
    }
    // The first, finish and usage chunks have a fast reading too; anything else is parsed in full.
    let chunk: OpenAiChunk | undefined = otherChunkOf(data);
    if (chunk === undefined) {
      try {
        chunk = JSON.parse(data) as OpenAiChunk;
      } catch {
        unparsedChunk(this.#upstream, data, out);
        return false;
      }
    }
    if (chunk === null || typeof chunk !== 'object') {
      out.push(MALFORMED);
      return false;
    }
    if (chunk.error !== undefined) {
      const special = classifyOpenAiError(chunk);
      throw special ? httpError(this.#upstream, 400, {}, chunk, special) : inBandError(this.#upstream, chunk);
    }
    if (!this.#seenFirst) {
      this.#seenFirst = true;
      if (typeof chunk.id === 'string') this.id = chunk.id;
      if (typeof chunk.model === 'string') this.model = chunk.model;
    }
    const choice = chunk.choices?.[0];
    if (choice !== undefined) {
      const content = choice.delta?.content;
      if (typeof content === 'string' && content !== '') out.push({ type: 'delta', content });
      if (choice.finish_reason) this.#finish = FINISH[choice.finish_reason] ?? 'stop';
    }
    if (chunk.usage != null) {
      this.#usage = usageOf(chunk.usage);
      if (this.#finish !== undefined) this.#flush(out);
    }
    return false;
  }

  end(out: UpstreamStreamEvent[]): boolean {
    this.#flush(out);
    return this.#flushed;
  }

  #flush(out: UpstreamStreamEvent[]): void {
    if (this.#flushed || this.#finish === undefined) return;
    this.#flushed = true;
    out.push(this.#usage === undefined ? { type: 'finish', finishReason: this.#finish } : { type: 'finish', finishReason: this.#finish, usage: this.#usage });
  }
}
