/**
 * The deterministic answer to a chat request, with the fault variants that
 * change the answer text (content filter, broken or wrong JSON). Answers are
 * cached in a bounded LRU so repeated prompts (benchmarks) cost a lookup.
 */
import type { ChatRequest } from './chat-request.ts';
import { LruCache } from './lru.ts';
import { hashString } from './random.ts';
import { generateInstance, generateViolation } from './schema-instance.ts';
import { estimateTokens, generateProse, splitIntoPieces, truncateToTokens } from './text.ts';

/** Default number of cached answers. */
export const DEFAULT_ANSWER_CACHE_SIZE = 1_000;

export type FinishReason = 'stop' | 'length' | 'content_filter';

/** How the answer text is altered by a fault. */
export type AnswerVariant =
  | { readonly kind: 'normal' }
  | { readonly kind: 'content_filter'; readonly keepFraction: number }
  | { readonly kind: 'invalid_json' | 'truncated_json' | 'schema_violation' };

export const NORMAL_ANSWER: AnswerVariant = Object.freeze({ kind: 'normal' });

export interface Answer {
  readonly text: string;
  readonly finishReason: FinishReason;
  /** The stop sequence that ended the answer, when one did. */
  readonly stopSequence: string | undefined;
  readonly completionTokens: number;
  /** JSON.stringify(text), ready to splice into a body. */
  readonly textJson: string;
  /** Stream pieces (about one word each), each already JSON-encoded. */
  readonly pieceJson: readonly string[];
}

/** Thrown when the requested schema cannot be used (e.g. an unresolvable $ref). */
export class SchemaUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaUnusableError';
  }
}

/** Text that breaks JSON.parse the way real models do: prose around a fenced block. */
function wrapInProse(json: string): string {
  return `Sure! Here is the JSON you asked for:\n\`\`\`json\n${json}\n\`\`\``;
}

/** Cut JSON in the middle; guarantees the result no longer parses. */
function truncateJson(json: string): string {
  const cut = json.slice(0, Math.max(1, Math.floor(json.length / 2)));
  try {
    JSON.parse(cut);
    return `${cut}, "`; // e.g. a number cut to a shorter number still parses: break it
  } catch {
    return cut;
  }
}

function baseText(request: ChatRequest, seed: number, variant: AnswerVariant): string {
  const out = request.structured;
  if (!out) return generateProse(seed);
  if (variant.kind === 'schema_violation') return JSON.stringify(generateViolation(out.schema, seed));
  let value: unknown;
  try {
    value = out.schema === undefined ? { answer: generateProse(seed) } : generateInstance(out.schema, seed);
  } catch (error) {
    throw new SchemaUnusableError((error as Error).message);
  }
  const json = JSON.stringify(value);
  if (variant.kind === 'invalid_json') return wrapInProse(json);
  if (variant.kind === 'truncated_json') return truncateJson(json);
  return json;
}

/** Continue a prefill: the model's own answer past the prefix when it matches, else fresh text. */
function continuation(full: string, prefill: string, seed: number, structured: boolean): string {
  if (full.startsWith(prefill)) return full.slice(prefill.length);
  if (structured) return full;
  const glue = prefill === '' || /\s$/.test(prefill) ? '' : ' ';
  return glue + generateProse(hashString(prefill, seed));
}

export function buildAnswer(request: ChatRequest, variant: AnswerVariant): Answer {
  const seed = hashString(`${request.model}\u0000${request.promptHash}`);
  let text = baseText(request, seed, variant);
  if (request.prefill !== undefined) text = continuation(text, request.prefill, seed, request.structured !== undefined);
  let finishReason: FinishReason = 'stop';
  let stopSequence: string | undefined;
  let stopAt = -1;
  for (const stop of request.stop) {
    const at = text.indexOf(stop);
    if (at !== -1 && (stopAt === -1 || at < stopAt)) {
      stopAt = at;
      stopSequence = stop;
    }
  }
  if (stopAt !== -1) text = text.slice(0, stopAt);
  if (request.maxTokens !== undefined && estimateTokens(text) > request.maxTokens) {
    text = truncateToTokens(text, request.maxTokens);
    finishReason = 'length';
    stopSequence = undefined;
  }
  if (variant.kind === 'content_filter') {
    text = text.slice(0, Math.floor(text.length * variant.keepFraction));
    finishReason = 'content_filter';
    stopSequence = undefined;
  }
  return {
    text,
    finishReason,
    stopSequence,
    completionTokens: estimateTokens(text),
    textJson: JSON.stringify(text),
    pieceJson: splitIntoPieces(text).map((piece) => JSON.stringify(piece)),
  };
}

function variantKey(variant: AnswerVariant): string {
  return variant.kind === 'content_filter' ? `content_filter:${variant.keepFraction}` : variant.kind;
}

/** buildAnswer behind a bounded LRU keyed by everything the answer depends on. */
export class AnswerCache {
  readonly #cache: LruCache<string, Answer>;

  constructor(maxEntries = DEFAULT_ANSWER_CACHE_SIZE) {
    this.#cache = new LruCache(maxEntries);
  }

  get(request: ChatRequest, variant: AnswerVariant): Answer {
    const key =
      `${request.model}\u0000${request.promptHash}\u0000${request.structured ? request.structured.schemaHash : '-'}\u0000` +
      `${variantKey(variant)}\u0000${request.maxTokens ?? ''}\u0000${request.stop.join('\u0001')}\u0000` +
      `${request.prefill === undefined ? '-' : hashString(request.prefill)}`;
    let answer = this.#cache.get(key);
    if (!answer) {
      answer = buildAnswer(request, variant);
      this.#cache.set(key, answer);
    }
    return answer;
  }

  get size(): number {
    return this.#cache.size;
  }
}
