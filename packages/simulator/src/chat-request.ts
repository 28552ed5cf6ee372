/**
 * Parse and validate a request body of either wire format into one shape the
 * rest of the simulator works with. Validation errors say which field is wrong.
 */
import { hashString } from './random.ts';
import type { JsonSchema } from './schema-instance.ts';
import type { WireFormat } from './scenario.ts';
import { estimateTokens } from './text.ts';

export interface StructuredOutput {
  /** undefined for plain json_object mode (any JSON object). */
  readonly schema: JsonSchema | undefined;
  /** Hash of the schema text, for the answer cache key. */
  readonly schemaHash: number;
}

export interface ChatRequest {
  readonly format: WireFormat;
  readonly model: string;
  readonly stream: boolean;
  /** OpenAI stream_options.include_usage. */
  readonly includeUsage: boolean;
  readonly messageCount: number;
  readonly lastMessageRole: string | undefined;
  /** Hash of the conversation (system + messages, without a trailing prefill). */
  readonly promptHash: number;
  readonly promptTokens: number;
  /** Text of a trailing assistant message: the answer continues it. */
  readonly prefill: string | undefined;
  readonly maxTokens: number | undefined;
  readonly stop: readonly string[];
  readonly structured: StructuredOutput | undefined;
}

/** A 4xx for a malformed request; `param` names the offending field. */
export class InvalidRequestError extends Error {
  readonly status: number;
  readonly param: string | null;
  readonly code: string | null;
  constructor(message: string, param: string | null, status = 400, code: string | null = null) {
    super(message);
    this.name = 'InvalidRequestError';
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a message content: a string, or the text parts of a content array. */
function contentText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw new InvalidRequestError(`${param}: expected a string or an array of content parts`, param);
  let text = '';
  for (const part of content) {
    if (isRecord(part) && part['type'] === 'text' && typeof part['text'] === 'string') text += part['text'];
  }
  return text;
}

function positiveInteger(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || (value as number) < 1) throw new InvalidRequestError(`${param}: expected an integer >= 1`, param);
  return value as number;
}

function stopList(value: unknown, param: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return (value as string[]).filter((s) => s !== '');
  throw new InvalidRequestError(`${param}: expected a string or an array of strings`, param);
}

function structured(schema: unknown, param: string): StructuredOutput {
  if (schema === undefined) return { schema: undefined, schemaHash: 0 };
  if (typeof schema !== 'boolean' && !isRecord(schema)) throw new InvalidRequestError(`${param}: expected a JSON Schema object`, param);
  return { schema: schema as JsonSchema, schemaHash: hashString(JSON.stringify(schema)) };
}

// A gateway asks a model without native JSON-schema support by putting the
// schema in the system prompt ("... conform to this JSON Schema:\n{...}").
// The simulator follows such an instruction like a capable model would.
const SCHEMA_INSTRUCTION = /JSON Schema:\s*(\{.*\})\s*$/m;

/** The schema given in system text as an instruction, if any (a bad one is ignored: prose is not validated). */
export function schemaFromInstructions(systemText: string): StructuredOutput | undefined {
  const match = SCHEMA_INSTRUCTION.exec(systemText);
  if (!match) return undefined;
  try {
    const schema: unknown = JSON.parse(match[1]!);
    return isRecord(schema) ? structured(schema, 'system') : undefined;
  } catch {
    return undefined;
  }
}

function requireModel(body: Json): string {
  const model = body['model'];
  if (typeof model !== 'string' || model === '') throw new InvalidRequestError('model: required, a non-empty string', 'model');
  return model;
}

interface Conversation {
  promptHash: number;
  promptTokens: number;
  prefill: string | undefined;
  lastRole: string | undefined;
}

/** Fold system text and messages into the hash text, token count and prefill. */
function conversation(system: string, messages: ReadonlyArray<{ role: string; text: string }>): Conversation {
  let promptText = system === '' ? '' : `system:${system}\n`;
  let promptTokens = system === '' ? 0 : estimateTokens(system);
  const last = messages[messages.length - 1];
  const prefill = last?.role === 'assistant' ? last.text : undefined;
  const upTo = prefill === undefined ? messages.length : messages.length - 1;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    promptTokens += estimateTokens(m.text);
    if (i < upTo) promptText += `${m.role}:${m.text}\n`;
  }
  return { promptHash: hashString(promptText), promptTokens, prefill, lastRole: last?.role };
}

const OPENAI_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

export function parseOpenAiRequest(body: unknown): ChatRequest {
  if (!isRecord(body)) throw new InvalidRequestError('request body: expected a JSON object', null);
  const model = requireModel(body);
  const rawMessages = body['messages'];
  if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
    throw new InvalidRequestError('messages: required, a non-empty array', 'messages');
  }
  const messages: Array<{ role: string; text: string }> = [];
  rawMessages.forEach((m, i) => {
    if (!isRecord(m) || typeof m['role'] !== 'string' || !OPENAI_ROLES.has(m['role'])) {
      throw new InvalidRequestError(`messages[${i}].role: expected one of ${[...OPENAI_ROLES].join(', ')}`, `messages[${i}].role`);
    }
    messages.push({ role: m['role'], text: contentText(m['content'], `messages[${i}].content`) });
  });
  const conv = conversation('', messages);

  let output: StructuredOutput | undefined;
  const responseFormat = body['response_format'];
  if (responseFormat !== undefined && responseFormat !== null) {
    if (!isRecord(responseFormat)) throw new InvalidRequestError('response_format: expected an object', 'response_format');
    const type = responseFormat['type'];
    if (type === 'json_schema') {
      const spec = responseFormat['json_schema'];
      if (!isRecord(spec)) throw new InvalidRequestError('response_format.json_schema: required for type json_schema', 'response_format.json_schema');
      output = structured(spec['schema'], 'response_format.json_schema.schema');
    } else if (type === 'json_object') {
      // The article's form carries the schema beside the type; else a schema the system prompt gives.
      output = structured(responseFormat['schema'], 'response_format.schema');
      if (output.schema === undefined) {
        output = schemaFromInstructions(messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => m.text).join('\n')) ?? output;
      }
    } else if (type !== 'text') {
      throw new InvalidRequestError('response_format.type: expected "text", "json_object" or "json_schema"', 'response_format.type');
    }
  }
  const streamOptions = body['stream_options'];
  return {
    format: 'openai',
    model,
    stream: body['stream'] === true,
    includeUsage: isRecord(streamOptions) && streamOptions['include_usage'] === true,
    messageCount: messages.length,
    lastMessageRole: conv.lastRole,
    promptHash: conv.promptHash,
    promptTokens: conv.promptTokens,
    prefill: conv.prefill,
    maxTokens: positiveInteger(body['max_completion_tokens'], 'max_completion_tokens') ?? positiveInteger(body['max_tokens'], 'max_tokens'),
    stop: stopList(body['stop'], 'stop'),
    structured: output,
  };
}

export function parseAnthropicRequest(body: unknown): ChatRequest {
  if (!isRecord(body)) throw new InvalidRequestError('request body: expected a JSON object', null);
  const model = requireModel(body);
  const maxTokens = positiveInteger(body['max_tokens'], 'max_tokens');
  if (maxTokens === undefined) throw new InvalidRequestError('max_tokens: Field required', 'max_tokens');
  const rawMessages = body['messages'];
  if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
    throw new InvalidRequestError('messages: Field required, a non-empty array', 'messages');
  }
  const messages = rawMessages.map((m, i) => {
    if (!isRecord(m) || (m['role'] !== 'user' && m['role'] !== 'assistant')) {
      throw new InvalidRequestError(
        `messages.${i}.role: Input should be 'user' or 'assistant' (put system text in the top-level "system" field)`,
        `messages.${i}.role`,
      );
    }
    return { role: m['role'], text: contentText(m['content'], `messages.${i}.content`) };
  });
  const system = contentText(body['system'], 'system');
  const conv = conversation(system, messages);
  let output: StructuredOutput | undefined;
  const outputFormat = body['output_format'];
  if (outputFormat !== undefined && outputFormat !== null) {
    if (!isRecord(outputFormat) || outputFormat['type'] !== 'json_schema') {
      throw new InvalidRequestError('output_format.type: expected "json_schema"', 'output_format.type');
    }
    output = structured(outputFormat['schema'], 'output_format.schema');
  } else {
    output = schemaFromInstructions(system);
  }
  return {
    format: 'anthropic',
    model,
    stream: body['stream'] === true,
    includeUsage: true,
    messageCount: messages.length,
    lastMessageRole: conv.lastRole,
    promptHash: conv.promptHash,
    promptTokens: conv.promptTokens,
    prefill: conv.prefill,
    maxTokens,
    stop: stopList(body['stop_sequences'], 'stop_sequences'),
    structured: output,
  };
}
