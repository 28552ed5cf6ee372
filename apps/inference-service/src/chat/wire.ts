import type { FinishReason, TokenUsage } from '../upstream/types.ts';

/** The contract's FallbackInfo. */
export interface FallbackInfo {
  strategy: 'alternative_model' | 'rule_based' | 'cache' | 'async' | 'polite';
  degraded: boolean;
}

export interface CompletionBody {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      /** `refusal` is always sent, null, as OpenAI does (SDKs read it, and send it back with the message). */
      message: { role: 'assistant'; content: string | null; refusal: null };
      finish_reason: FinishReason;
      logprobs: null;
    },
  ];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  fallback?: FallbackInfo;
}

export function completionBody(
  id: string,
  model: string,
  content: string,
  finishReason: FinishReason,
  usage: TokenUsage,
  fallback?: FallbackInfo,
): CompletionBody {
  const body: CompletionBody = {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: finishReason, logprobs: null }],
    usage: wireUsage(usage),
  };
  if (fallback) body.fallback = fallback;
  return body;
}

export function wireUsage(usage: TokenUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');

/**
 * Encodes `chat.completion.chunk` events as SSE lines. The id, created time
 * and model prefix are fixed per stream, so each chunk serialises only its
 * changing part.
 */
export class ChunkEncoder {
  readonly #id: string;
  readonly #created: number;
  #model = '';
  #prefix = '';
  #fallbackSuffix = '';

  constructor(id: string) {
    this.#id = id;
    this.#created = Math.floor(Date.now() / 1000);
  }

  /** Sets who is answering from now on (and the fallback marker when it is a fallback). */
  answeringModel(model: string, fallback?: FallbackInfo): void {
    if (model === this.#model && !fallback === !this.#fallbackSuffix) return;
    this.#model = model;
    this.#prefix = `data: {"id":${JSON.stringify(this.#id)},"object":"chat.completion.chunk","created":${this.#created},"model":${JSON.stringify(model)},`;
    this.#fallbackSuffix = fallback ? `,"fallback":${JSON.stringify(fallback)}` : '';
  }

  role(): Uint8Array {
    return encoder.encode(`${this.#prefix}"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]${this.#fallbackSuffix}}\n\n`);
  }

  delta(content: string): Uint8Array {
    return encoder.encode(
      `${this.#prefix}"choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${this.#fallbackSuffix}}\n\n`,
    );
  }

  finish(reason: FinishReason): Uint8Array {
    return encoder.encode(`${this.#prefix}"choices":[{"index":0,"delta":{},"finish_reason":"${reason}"}]${this.#fallbackSuffix}}\n\n`);
  }

  usage(usage: TokenUsage): Uint8Array {
    return encoder.encode(`${this.#prefix}"choices":[],"usage":${JSON.stringify(wireUsage(usage))}${this.#fallbackSuffix}}\n\n`);
  }

  done(): Uint8Array {
    return DONE;
  }

  /** An in-band error in OpenAI's error shape; no [DONE] follows it. */
  error(envelope: unknown): Uint8Array {
    return encoder.encode(`data: ${JSON.stringify(envelope)}\n\n`);
  }
}
