// What the support assistant needs from the inference service, as Pact building blocks:
// names, provider states and the shapes shared by the consumer tests.
import { MatchersV3 } from '@pact-foundation/pact';
import { join } from 'node:path';
import { ANSWER_SCHEMA, SYSTEM_PROMPT } from '../assistant.ts';

const { like, integer, regex, string, equal } = MatchersV3;

export const CONSUMER = 'support-assistant';
export const PROVIDER = 'llm-inference-service';
/** Where pact files are written (and read by the provider verification): `<repo>/pacts`. */
export const PACT_DIR = join(import.meta.dirname, '../../../../pacts');
export const PACT_FILE = join(PACT_DIR, `${CONSUMER}-${PROVIDER}.json`);

/** Keys the interactions use; the provider's verification stack is started with them. */
export const PACT_KEYS = {
  consumer: 'sk-pact-consumer',
  /** A key whose request rate is used up (state RATE_LIMITED). */
  limited: 'sk-pact-limited',
  unknown: 'sk-pact-unknown',
} as const;
export const PACT_KEY_IDS = { consumer: 'support-assistant', limited: 'support-assistant-limited' } as const;

/** Provider states: the provider verification implements exactly these. */
export const STATES = {
  normal: 'the models answer normally',
  rateLimited: 'the API key sk-pact-limited has used up its request rate',
  llamaDown: 'every upstream of llama-3.2-70b is down',
  gpt4oDown: 'gpt-4o is down and its alternative model answers',
  allDownCached: 'every upstream is down and a cached answer exists for the question',
  allDown: 'every upstream is down',
  jobSucceeded: 'a job has succeeded',
} as const;

export const QUESTIONS = {
  plain: 'What are your opening hours?',
  structured: 'How do I reset my password?',
  cached: 'Do you ship to Norway?',
  deferred: 'Where is my parcel?',
  /** Never asked before in any state: no cached answer can rescue it. */
  unanswerable: 'Can I change the delivery address after dispatch?',
} as const;

export const RESPONSE_FORMAT = {
  type: 'json_schema',
  json_schema: { name: 'support_answer', strict: true, schema: ANSWER_SCHEMA },
} as const;

export const authorization = (key: string) => regex('^Bearer \\S+$', `Bearer ${key}`);
/** Headers of a JSON request (`jsonBody` adds the content type). */
export const jsonHeaders = (key: string) => ({ authorization: authorization(key) });

/** The request body the assistant sends for a question (structured output, strict). */
export function structuredRequest(question: string, model = 'gpt-4o-mini') {
  return {
    model: equal(model),
    messages: [
      { role: 'system', content: like(SYSTEM_PROMPT) },
      { role: 'user', content: like(question) },
    ],
    response_format: equal(RESPONSE_FORMAT),
  };
}

/** JSON text that holds an object with an `answer` (the service validated it against the schema). */
export const structuredContent = (example: { answer: string; confidence: number; needs_human: boolean }) =>
  regex('^\\{[\\s\\S]*"answer"[\\s\\S]*\\}$', JSON.stringify(example));

/** A `ChatCompletion` body; `content` and `model` carry the matcher the interaction needs. */
export function completion(content: unknown, model: unknown = string('gpt-4o-mini'), extra: Record<string, unknown> = {}) {
  return {
    id: regex('^chatcmpl-[A-Za-z0-9_-]+$', 'chatcmpl-7f3a9c2e'),
    object: equal('chat.completion'),
    created: integer(1764000000),
    model,
    choices: [
      {
        index: equal(0),
        message: { role: equal('assistant'), content },
        finish_reason: equal('stop'),
      },
    ],
    usage: { prompt_tokens: integer(24), completion_tokens: integer(14), total_tokens: integer(38) },
    ...extra,
  };
}

/** The contract's error envelope with exact `code`/`type`/`param` and any message. */
export function errorEnvelope(code: string, type: string, param: string | null, message: string) {
  return { error: { code: equal(code), type: equal(type), param: param === null ? null : equal(param), message: string(message) } };
}
