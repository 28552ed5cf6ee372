// The support assistant: asks the inference service for a structured answer
// through the generated client (with its resilience wrapper), checks what came
// back, and never leaves the user without an answer.
import { createLlmClient, isLlmApiError, StreamInterruptedError, withResilience } from '@llmgw/client';
import type { ChatCompletion, ChatMessage, LlmClient, RequestOptions, ResponseMeta } from '@llmgw/client';

export const DEFAULT_MODEL = 'gpt-4o-mini';
/** How long `ask` waits for an async-fallback job (202) before answering with its own fallback. */
export const JOB_WAIT_MS = 10_000;
export const JOB_POLL_MS = 250;
/** Said when the service could not answer (after the client's retries): a person takes over. */
export const CONSUMER_FALLBACK_MESSAGE =
  "Sorry, I can't answer that right now. I've passed your question to our support team; someone will get back to you shortly.";
/** A streamed answer is plain text: the model gives no self-assessment, so its confidence is unknown. */
export const STREAMED_CONFIDENCE = 0.5;
export const SYSTEM_PROMPT =
  'You are a concise, friendly customer-support assistant. Answer the customer\'s question. ' +
  'Say how confident you are (0 to 1) and whether a human agent should follow up.';

/** The `json_schema` the service validates the model's answer against (strict: nothing else allowed). */
export const ANSWER_SCHEMA = {
  type: 'object',
  required: ['answer', 'confidence', 'needs_human'],
  additionalProperties: false,
  properties: {
    answer: { type: 'string' },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    needs_human: { type: 'boolean' },
  },
} as const;

export type AnswerSource = 'model' | 'fallback' | 'degraded' | 'consumer-fallback';

export interface AssistantAnswer {
  answer: string;
  confidence: number;
  needs_human: boolean;
  /** `model`: the requested model; `fallback`: an alternative model; `degraded`: a degraded strategy of the service (cache, async job, rules, polite); `consumer-fallback`: this app's own answer. */
  source: AnswerSource;
  /** The model that answered (`consumer-fallback` when none did). */
  model: string;
  /** The service's `x-llm-fallback` strategy, when one answered. */
  fallbackStrategy?: string;
  /** HTTP status of the failure behind a consumer-fallback, when there was one. */
  status?: number;
  /** Error code (or name) behind a consumer-fallback. Never the prompt. */
  error?: string;
}

export interface AssistantOptions {
  serviceUrl: string;
  apiKey: string;
  /** Default {@link DEFAULT_MODEL}. */
  model?: string;
  /** Default true: `withResilience` (per-model timeouts, retries of what the service marks retryable, breaker). */
  resilience?: boolean;
  fetch?: typeof fetch;
  /** Per-attempt timeout in ms; default: the client's (with resilience: the agreement's per-model timeout + grace). */
  timeoutMs?: number;
}

export interface AskOptions {
  signal?: AbortSignal;
  /** Plain-text answer assembled from a stream (no structured output). */
  stream?: boolean;
}

export interface Assistant {
  /** Never rejects because of the service; rejects only when `signal` aborts. */
  ask(question: string, opts?: AskOptions): Promise<AssistantAnswer>;
}

interface StructuredAnswer {
  answer: string;
  confidence: number;
  needs_human: boolean;
}

/** Thrown inside `ask` when the service answered 2xx with something we cannot use. */
class UnusableAnswerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'UnusableAnswerError';
    this.code = code;
  }
}

export function createAssistant(opts: AssistantOptions): Assistant {
  const model = opts.model ?? DEFAULT_MODEL;
  const base = createLlmClient({ baseUrl: opts.serviceUrl, apiKey: opts.apiKey, fetch: opts.fetch, timeoutMs: opts.timeoutMs });
  const client: LlmClient = opts.resilience === false ? base : withResilience(base);
  const responseFormat = {
    type: 'json_schema' as const,
    json_schema: { name: 'support_answer', strict: true, schema: ANSWER_SCHEMA as unknown as Record<string, unknown> },
  };

  function requestOptions(signal: AbortSignal | undefined): RequestOptions | undefined {
    if (!signal && opts.timeoutMs === undefined) return undefined;
    return { ...(signal && { signal }), ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }) };
  }

  async function askStructured(messages: ChatMessage[], signal: AbortSignal | undefined): Promise<AssistantAnswer> {
    const { data, meta } = await client.chat.completions
      .create({ model, messages, response_format: responseFormat }, requestOptions(signal))
      .withResponse();
    if (data.object === 'chat.completion.job') {
      // The service deferred the answer (async fallback): wait a little, then give up politely.
      const result = await client.jobs.wait(data.id, { pollMs: JOB_POLL_MS, timeoutMs: JOB_WAIT_MS, ...(signal && { signal }) });
      return { ...parseStructured(result), source: 'degraded', model: result.model, fallbackStrategy: 'async' };
    }
    return { ...parseStructured(data), ...sourceOf(data, meta), model: data.model };
  }

  async function askStreamed(messages: ChatMessage[], signal: AbortSignal | undefined): Promise<AssistantAnswer> {
    const stream = await client.chat.completions.stream({ model, messages }, requestOptions(signal));
    let text = '';
    let answeredBy = model;
    // A stream can continue on a fallback after its headers were sent: the chunks say so.
    let chunkFallback: ChatCompletion['fallback'];
    for await (const chunk of stream) {
      answeredBy = chunk.model;
      chunkFallback = chunk.fallback ?? chunkFallback;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    // Only reached after [DONE]: an interrupted stream threw StreamInterruptedError above.
    if (text.trim() === '') throw new UnusableAnswerError('empty_answer', 'The streamed answer was empty.');
    return { answer: text, confidence: STREAMED_CONFIDENCE, needs_human: false, ...sourceOf(chunkFallback ? ({ fallback: chunkFallback } as ChatCompletion) : undefined, stream.meta), model: answeredBy };
  }

  return {
    async ask(question, askOpts = {}) {
      const { signal } = askOpts;
      const messages: ChatMessage[] = [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: question },
      ];
      try {
        return askOpts.stream ? await askStreamed(messages, signal) : await askStructured(messages, signal);
      } catch (error) {
        // The caller gave up: that is not a service failure to paper over.
        if (signal?.aborted) throw error;
        return consumerFallback(error);
      }
    },
  };
}

/** Where an answer came from, by the service's own account (`x-llm-fallback` header, else the body's `fallback`). */
function sourceOf(data: ChatCompletion | undefined, meta: ResponseMeta): Pick<AssistantAnswer, 'source' | 'fallbackStrategy'> {
  const strategy = meta.fallback ?? data?.fallback?.strategy;
  if (!strategy) return { source: 'model' };
  const degraded = data?.fallback?.degraded ?? strategy !== 'alternative_model';
  return { source: degraded ? 'degraded' : 'fallback', fallbackStrategy: strategy };
}

/** The model's JSON, checked: the service validated it, but a consumer never trusts an answer blindly. */
export function parseStructured(completion: ChatCompletion): StructuredAnswer {
  const choice = completion.choices[0];
  if (!choice || choice.finish_reason !== 'stop') {
    throw new UnusableAnswerError('incomplete_answer', `The answer ended with finish_reason '${choice?.finish_reason ?? 'none'}'.`);
  }
  const content = choice.message.content;
  let parsed: unknown;
  try {
    parsed = typeof content === 'string' ? JSON.parse(content) : undefined;
  } catch {
    throw new UnusableAnswerError('invalid_json', 'The answer was not valid JSON.');
  }
  if (!isStructuredAnswer(parsed)) throw new UnusableAnswerError('schema_mismatch', 'The answer did not match {answer, confidence, needs_human}.');
  return { answer: parsed.answer, confidence: parsed.confidence, needs_human: parsed.needs_human };
}

function isStructuredAnswer(value: unknown): value is StructuredAnswer {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Object.keys(v).length === 3 &&
    typeof v.answer === 'string' &&
    v.answer.trim() !== '' &&
    typeof v.confidence === 'number' &&
    v.confidence >= 0 &&
    v.confidence <= 1 &&
    typeof v.needs_human === 'boolean'
  );
}

/** The last line of defence: a polite answer that hands over to a person. */
function consumerFallback(error: unknown): AssistantAnswer {
  const answer: AssistantAnswer = {
    answer: CONSUMER_FALLBACK_MESSAGE,
    confidence: 0,
    needs_human: true,
    source: 'consumer-fallback',
    model: 'consumer-fallback',
  };
  if (isLlmApiError(error)) {
    if (error.status !== undefined) answer.status = error.status;
    answer.error = error instanceof StreamInterruptedError ? 'stream_interrupted' : (error.code ?? error.name);
  } else if (error instanceof UnusableAnswerError) {
    answer.error = error.code;
  } else {
    answer.error = error instanceof Error ? error.name : 'unknown_error';
  }
  return answer;
}
