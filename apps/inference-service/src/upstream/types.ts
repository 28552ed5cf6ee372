/**
 * The provider interface the service talks to: one small surface for every
 * upstream wire format (OpenAI-compatible, Anthropic). Adapters translate our
 * request into their wire format and their answers/errors back; everything
 * else (retry, breaker, fallback) lives above this seam.
 */

export interface UpstreamMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type UpstreamResponseFormat =
  | { type: 'text' }
  | { type: 'json_object'; schema?: object }
  | { type: 'json_schema'; name: string; schema?: object; strict?: boolean | null };

export interface UpstreamRequest {
  /** The upstream's own model name (after registry mapping). */
  model: string;
  messages: UpstreamMessage[];
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  responseFormat?: UpstreamResponseFormat;
  user?: string;
  /**
   * Whether this model takes a JSON schema natively (the route's
   * `capabilities.jsonSchema`). When false the schema goes into the system
   * prompt instead. Default: the adapter's own setting.
   */
  nativeJsonSchema?: boolean;
}

export interface CallTimeouts {
  /** TCP/TLS connect; enforced by the upstream's pool (`connect.timeout`). */
  connectMs: number;
  /** Streams: headers and then the first content must arrive within this. */
  firstTokenMs: number;
  /** Streams: longest gap between events after the first content. */
  streamIdleMs: number;
  /** The whole call, headers to last byte. */
  totalMs: number;
}

export interface CallOptions {
  signal: AbortSignal;
  timeouts: CallTimeouts;
  /** Extra headers to forward, e.g. `traceparent`. */
  headers?: Record<string, string>;
}

/**
 * Largest answer taken from an upstream: bytes of a non-streamed body, characters of an
 * answer read from a stream (8 Mi; a 128k-token answer is ~0.5 MB). An upstream that never
 * stops sending must not take the memory.
 */
export const MAX_ANSWER_SIZE = 8 * 1024 * 1024;

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface RateLimitInfo {
  remainingRequests?: number;
  resetRequestsMs?: number;
}

export interface UpstreamCompletion {
  id: string;
  model: string;
  content: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  refusal?: string | null;
  rateLimit?: RateLimitInfo;
}

export type UpstreamStreamEvent =
  | { type: 'delta'; content: string }
  | { type: 'finish'; finishReason: FinishReason; usage?: TokenUsage }
  /** An unparsable `data:` payload; the stream goes on. */
  | { type: 'malformed' };

/** A single-use stream of events; `cancel()` (or `break` in for-await) aborts the upstream request. */
export interface UpstreamStream extends AsyncIterable<UpstreamStreamEvent> {
  readonly id: string;
  readonly model: string;
  readonly rateLimit?: RateLimitInfo;
  cancel(): void;
  /** The events of each body chunk together (cheaper for a caller that reads the whole answer). */
  batches?(): AsyncIterable<readonly UpstreamStreamEvent[]>;
}

export type ProviderKind = 'openai' | 'anthropic';

export interface Provider {
  readonly kind: ProviderKind;
  /** The upstream's name in the routes file (bounded: usable as a metrics label). */
  readonly name: string;
  complete(req: UpstreamRequest, opts: CallOptions): Promise<UpstreamCompletion>;
  stream(req: UpstreamRequest, opts: CallOptions): Promise<UpstreamStream>;
}

/** A message as the public API accepts it (string or content parts; `developer` role). */
export interface ApiMessage {
  role: string;
  content?: string | null | ReadonlyArray<{ type: string; text?: string } | Record<string, unknown>>;
}

/**
 * Flatten API messages for an upstream: `developer` becomes `system`, text
 * content parts are joined, non-text parts are dropped (no adapter sends them yet).
 * `tool` messages are passed as user text so the conversation stays complete.
 */
export function toUpstreamMessages(messages: ReadonlyArray<ApiMessage>): UpstreamMessage[] {
  const out: UpstreamMessage[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const role = m.role === 'developer' || m.role === 'system' ? 'system' : m.role === 'assistant' ? 'assistant' : 'user';
    const c = m.content;
    let content: string;
    if (typeof c === 'string') content = c;
    else if (c == null) content = '';
    else {
      content = '';
      for (const part of c) {
        const text = (part as { text?: unknown }).text;
        if (typeof text === 'string') content = content === '' ? text : `${content}\n${text}`;
      }
    }
    out[i] = { role, content };
  }
  return out;
}
