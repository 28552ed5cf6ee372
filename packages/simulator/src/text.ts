/**
 * Deterministic English answers and the approximate tokenizer.
 * The answer reads like prose so humans can eyeball demos, and it is a pure
 * function of its seed so tests can compare runs.
 */
import { createRandom, pick, randomInt, type Random } from './random.ts';

/** ~4 characters per token, at least 1 for any text (like the usual rule of thumb). */
export const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/** The longest prefix of `text` that fits in `maxTokens` tokens. */
export function truncateToTokens(text: string, maxTokens: number): string {
  return text.slice(0, maxTokens * CHARS_PER_TOKEN);
}

const SUBJECTS = [
  'The gateway', 'A careful client', 'The upstream model', 'Our service', 'The retry policy',
  'Each request', 'The circuit breaker', 'A good contract', 'The fallback chain', 'The cache',
  'This answer', 'The operator', 'A stable system', 'The dashboard', 'The simulator',
] as const;
const VERBS = [
  'checks', 'records', 'explains', 'protects', 'measures', 'validates', 'describes',
  'improves', 'reports', 'handles', 'summarises', 'keeps', 'follows', 'limits', 'shapes',
] as const;
const OBJECTS = [
  'the latency budget', 'every response', 'the token usage', 'the error rate', 'a clear plan',
  'the service contract', 'the model output', 'each failure', 'the rate limit', 'the schema',
  'the user question', 'a useful summary', 'the next step', 'the whole stream', 'the trace',
] as const;
const TAILS = [
  'with great care', 'before the deadline', 'in a predictable way', 'for every team',
  'without surprises', 'under heavy load', 'when it matters', 'at a steady pace',
  'as the contract says', 'in plain words', 'step by step', 'for the next release',
] as const;

function sentence(random: Random): string {
  const parts: string[] = [pick(random, SUBJECTS), pick(random, VERBS), pick(random, OBJECTS)];
  if (random() < 0.6) parts.push(pick(random, TAILS));
  return parts.join(' ') + '.';
}

/** 2 to 5 sentences of plausible prose derived from `seed`. */
export function generateProse(seed: number): string {
  const random = createRandom(seed);
  const count = randomInt(random, 2, 5);
  const sentences: string[] = [];
  for (let i = 0; i < count; i++) sentences.push(sentence(random));
  return sentences.join(' ');
}

/** A handful of words for string fields of generated JSON. */
export function generatePhrase(random: Random): string {
  return `${pick(random, VERBS)} ${pick(random, OBJECTS)}`;
}

const WORDS = ['alpha', 'bravo', 'delta', 'echo', 'lima', 'nova', 'orbit', 'pixel', 'quartz', 'river', 'solar', 'tango'] as const;

export function generateWord(random: Random): string {
  return pick(random, WORDS);
}

const PIECE_PATTERN = /\s*\S+/g;

/**
 * Split text into stream pieces of roughly one word each (real APIs stream
 * roughly one token per chunk). Concatenating the pieces gives back `text`.
 */
export function splitIntoPieces(text: string): string[] {
  if (text.length === 0) return [];
  const pieces: string[] = text.match(PIECE_PATTERN) ?? [];
  const joinedLength = pieces.reduce((n, p) => n + p.length, 0);
  // Trailing whitespace is not matched by the pattern: keep it so the pieces round-trip.
  if (joinedLength < text.length) pieces.push(text.slice(joinedLength));
  return pieces;
}
