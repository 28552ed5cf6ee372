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

// The streamed answer (text/event-stream). Pact matches that body as text, so what the assistant
// relies on is said by three regular expressions, all of which must match. Pact's regex matcher
// must match the WHOLE body (a match of part of it is a mismatch), so each is anchored at both ends:
//  - STREAM_CHUNKS: one or more `data:` events, each one JSON object on one line whose
//    `object` is `chat.completion.chunk`, then `data: [DONE]` (the end of a complete answer);
//  - STREAM_DELTAS: in every event, `choices` is empty (a usage chunk) or `choices[0]` has a
//    `delta` object of string/null members — `delta.content` is what the assistant concatenates;
//  - STREAM_HAS_TEXT: some event's `choices[0].delta.content` has a non-blank character (an
//    all-blank stream is the assistant's `empty_answer`).
// Line ends may be \n or \r\n (the client's SSE decoder takes both; `data:` may omit its space),
// JSON may have blanks between tokens, keys may come in any order, and ids, timestamps, model
// names and further fields are left free.
//
// Pact runs them in Rust's linear-time engine; they are also written to stay linear in a
// backtracking one: JSON is read token by token (a string is consumed whole, so a quote or
// brace inside it is never structure), a key is found at its FIRST occurrence (the tokens
// before it are "anything but that key"), and an event cannot run past its line — so each
// event matches in exactly one way and a repeated event group cannot backtrack combinatorially.
const ws = String.raw`[ \t]*`;
const char = String.raw`(?:[^"\\\r\n]|\\.)`;
/** A JSON string (one line). */
const str = String.raw`"${char}*"`;
/** A JSON string with a non-blank character: blanks (raw or \n \r \t \f escapes), then one that is not. */
const textStr = String.raw`"(?:[^\S\r\n]|\\[nrtf])*(?:[^"\\\s]|\\[^nrtf\r\n])${char}*"`;
const scalar = String.raw`(?:${str}|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)`;

/** A JSON string other than `"word"` (as text): shorter, differing at some letter, or longer. */
function otherString(word: string): string {
  const differs = [...word].map((c, i) => String.raw`${word.slice(0, i)}(?:"|(?:[^"\\\r\n${c}]|\\.)${char}*")`);
  return String.raw`"(?:${[...differs, String.raw`${word}${char}+"`].join('|')})`;
}
/** The start of a line's JSON up to its first `"word":` key (a `"word"` value is skipped like any token). */
const upToKey = (word: string) => String.raw`(?:[^"\r\n]|${otherString(word)}|"${word}"${ws}[,\]}])*"${word}"${ws}:${ws}`;
/** `"key": value,` */
const memberThen = (value: string) => String.raw`${str}${ws}:${ws}${value}${ws},${ws}`;
const deltaMember = String.raw`${str}${ws}:${ws}(?:${str}|null)`;
/** `choices[0]` up to its `delta` value (scalar members, like `index`, may come before it). */
const firstDelta = String.raw`\[${ws}\{${ws}(?:${memberThen(scalar)})*"delta"${ws}:${ws}`;
/** Every event holds one JSON object (one line) with `inner` in it; then `data: [DONE]`. */
const everyEvent = (inner: string) => String.raw`^(?:data: ?\{${inner}[^\r\n]*\}\r?\n\r?\n)+data: ?\[DONE\](?:\r?\n){0,2}$`;

/** Every event is a chat.completion.chunk, and the stream ends with `data: [DONE]`. */
export const STREAM_CHUNKS = everyEvent(String.raw`${upToKey('object')}"chat\.completion\.chunk"`);
/** Every event's `choices` is empty, or `choices[0].delta` is an object of string/null members. */
export const STREAM_DELTAS = everyEvent(
  String.raw`${upToKey('choices')}(?:\[${ws}\]|${firstDelta}\{${ws}(?:${deltaMember}${ws}(?:,${ws}${deltaMember}${ws})*)?\})`,
);
/** Some event's `choices[0].delta.content` has a non-blank character (whole lines before it, anything after). */
export const STREAM_HAS_TEXT = String.raw`^(?:[^\n]*\n)*?data: ?\{${upToKey('choices')}${firstDelta}\{${ws}(?:${memberThen(String.raw`(?:${str}|null)`)})*"content"${ws}:${ws}${textStr}[\s\S]*$`;
/** The three, for `matchingRules` on the body (`$`). */
export const STREAM_RULES = [STREAM_CHUNKS, STREAM_DELTAS, STREAM_HAS_TEXT] as const;
