/**
 * TEMPORARY stand-in for apps/consumer's `createAssistant`, with the same
 * interface, built on @llmgw/client. Used only while
 * apps/consumer/src/assistant.ts does not exist; ./assistant.ts picks the real one.
 */
import { createLlmClient, isLlmApiError, withResilience, type LlmClient } from '@llmgw/client';
import type { AskOptions, AskResult, AssistantOptions, Assistant } from './assistant.ts';

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['answer', 'confidence', 'needs_human'],
  properties: {
    answer: { type: 'string' },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    needs_human: { type: 'boolean' },
  },
} as const;

const LAST_LINE = 'Sorry, our assistant is unavailable right now. A colleague will get back to you.';

export function createStandInAssistant(options: AssistantOptions): Assistant {
  const model = options.model ?? 'gpt-4o-mini';
  const base = createLlmClient({ baseUrl: options.serviceUrl, apiKey: options.apiKey, fetch: options.fetch, timeoutMs: options.timeoutMs });
  const client: LlmClient = options.resilience === false ? base : withResilience(base);
  const consumerFallback = (error: unknown): AskResult => ({
    answer: LAST_LINE,
    confidence: 0,
    needs_human: true,
    source: 'consumer-fallback',
    model,
    status: isLlmApiError(error) ? error.status : undefined,
    error: isLlmApiError(error) ? (error.code ?? error.message) : (error as Error)?.message,
  });
  return {
    async ask(question: string, askOptions: AskOptions = {}): Promise<AskResult> {
      const messages = [{ role: 'user' as const, content: question }];
      try {
        if (askOptions.stream) {
          const stream = await client.chat.completions.stream({ model, messages }, { signal: askOptions.signal });
          let text = '';
          let answered = model;
          let fallback: { strategy: string; degraded: boolean } | undefined;
          for await (const chunk of stream) {
            answered = chunk.model;
            if (chunk.fallback) fallback = chunk.fallback;
            for (const c of chunk.choices) text += c.delta.content ?? '';
          }
          return { answer: text, confidence: 1, needs_human: false, source: sourceOf(fallback), model: answered, fallbackStrategy: fallback?.strategy };
        }
        const body = await client.chat.completions.create(
          { model, messages, response_format: { type: 'json_schema', json_schema: { name: 'support_answer', schema: SCHEMA, strict: true } } } as never,
          { signal: askOptions.signal },
        );
        if (body.object !== 'chat.completion') {
          return { answer: 'Your question is being processed; we will get back to you.', confidence: 0, needs_human: true, source: 'degraded', model, fallbackStrategy: 'async' };
        }
        const fallback = body.fallback ?? undefined;
        const content = body.choices[0]?.message.content ?? '';
        if (fallback?.degraded) {
          return { answer: content, confidence: 0, needs_human: true, source: 'degraded', model: body.model, fallbackStrategy: fallback.strategy };
        }
        const parsed = JSON.parse(content) as { answer: string; confidence: number; needs_human: boolean };
        return { ...parsed, source: sourceOf(fallback), model: body.model, fallbackStrategy: fallback?.strategy };
      } catch (error) {
        return consumerFallback(error);
      }
    },
  };
}

function sourceOf(fallback: { degraded: boolean } | undefined): AskResult['source'] {
  if (!fallback) return 'model';
  return fallback.degraded ? 'degraded' : 'fallback';
}
