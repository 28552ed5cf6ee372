/**
 * A fast reading of the chunk that makes up almost all of an OpenAI stream: a
 * content delta and nothing else (no role, finish, usage or error). The service
 * streams from upstream even for non-streamed requests (to see a silent model by
 * its time to first token), so it reads one such chunk per token; JSON.parse of
 * each was the largest single cost of a request in the benchmark's profile
 * (bench/README.md). One anchored regular expression is ~8x cheaper and builds
 * no objects.
 *
 * otherChunkOf does the same for the three other chunks of every answer: the
 * first, the finish and the usage.
 *
 * Both accept only an exact, whitespace-free serialisation in the field orders
 * OpenAI and the simulator send; anything else (other fields or orders, spaces,
 * errors) returns undefined and the caller parses the chunk in full. Where it does answer, the answer is what JSON.parse
 * would give: strings that JSON forbids (raw control characters, leading-zero
 * numbers, bad escapes) do not match or fail the literal's decoding.
 * openai-chunk.test.ts checks that property on generated and mutated chunks.
 */

/** A JSON string's body with no escapes (ids, names, tiers). */
const PLAIN = String.raw`[^"\\\x00-\x1f]*`;
/** A JSON string's body, escapes allowed (decoded by JSON.parse when present). */
const LITERAL = String.raw`((?:[^"\\\x00-\x1f]|\\.)*)`;

/**
 * The content-delta chunk in three sticky parts, read with `test` and `lastIndex`: before the
 * content's literal, the literal with its closing quote, and after it. One `exec` of the whole
 * builds a match array per token (6 KB of a small request's ~96 KB of allocation); `test` builds
 * nothing, in the same time.
 */
const DELTA_HEAD = new RegExp(
  String.raw`\{"id":"${PLAIN}","object":"chat\.completion\.chunk","created":(?:0|[1-9]\d*),"model":"${PLAIN}",` +
    String.raw`(?:"(?:service_tier|system_fingerprint)":"${PLAIN}",){0,2}` +
    String.raw`"choices":\[\{"index":0,"delta":\{"content":"`,
  'y',
);
const DELTA_LITERAL = new RegExp(String.raw`(?:[^"\\\x00-\x1f]|\\.)*"`, 'y');
const DELTA_TAIL = new RegExp(
  String.raw`\},(?:"logprobs":null,)?"finish_reason":null(?:,"logprobs":null)?\}\]` +
    String.raw`(?:,"usage":null)?(?:,"obfuscation":"${PLAIN}")?\}` +
    '$',
  'y',
);

/** The delta's text when `data` is a plain content-delta chunk; undefined when it must be parsed in full. */
export function contentDeltaOf(data: string): string | undefined {
  DELTA_HEAD.lastIndex = 0;
  if (!DELTA_HEAD.test(data)) return undefined;
  const start = DELTA_HEAD.lastIndex;
  DELTA_LITERAL.lastIndex = start;
  if (!DELTA_LITERAL.test(data)) return undefined;
  const end = DELTA_LITERAL.lastIndex;
  DELTA_TAIL.lastIndex = end;
  if (!DELTA_TAIL.test(data)) return undefined;
  return decodeLiteral(data.slice(start, end - 1));
}

/** A JSON string literal's body as JSON.parse reads it; undefined when JSON refuses it. */
function decodeLiteral(literal: string): string | undefined {
  if (!literal.includes('\\')) return literal;
  try {
    return JSON.parse(`"${literal}"`) as string;
  } catch {
    return undefined;
  }
}

/** What the stream decoder reads of a chunk: the fields JSON.parse would give it. */
export interface ChunkReading {
  id: string;
  model: string;
  choices: Array<{ delta: { content?: string }; finish_reason: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

const NUMBER = String.raw`(?:0|[1-9]\d*)`;
const COUNT = `(${NUMBER})`;
/** OpenAI's usage details: objects of counts (cached, audio, reasoning tokens...), never read. */
const DETAILS = String.raw`(?:,"(?:prompt|completion)_tokens_details":\{"[a-z_]+":${NUMBER}(?:,"[a-z_]+":${NUMBER})*\}){0,2}`;

/**
 * The other chunks of every answer, read the same way: the first (the role and an empty
 * content), the finish (an empty delta and the reason) and the usage (no choices). Each
 * cost 1.4-1.8 us through JSON.parse, about 2 % of a small request's CPU. Captures: id,
 * model, content (absent when the delta is empty), finish reason (absent when null),
 * prompt and completion tokens (only in the usage chunk).
 */
const OTHER_CHUNK = new RegExp(
  '^' +
    String.raw`\{"id":"(${PLAIN})","object":"chat\.completion\.chunk","created":${NUMBER},"model":"(${PLAIN})",` +
    String.raw`(?:"(?:service_tier|system_fingerprint)":"${PLAIN}",){0,2}"choices":` +
    '(?:' +
    String.raw`\[\{"index":0,"delta":\{(?:"role":"assistant","content":"${LITERAL}"(?:,"refusal":null)?)?\},` +
    String.raw`(?:"logprobs":null,)?"finish_reason":(?:null|"(stop|length|content_filter|tool_calls)")(?:,"logprobs":null)?\}\](?:,"usage":null)?` +
    '|' +
    String.raw`\[\],"usage":\{"prompt_tokens":${COUNT},"completion_tokens":${COUNT},"total_tokens":${NUMBER}${DETAILS}\}` +
    ')' +
    String.raw`(?:,"obfuscation":"${PLAIN}")?\}` +
    '$',
);

/**
 * The first, finish or usage chunk read without JSON.parse, in the shape the decoder reads
 * from a parsed chunk; undefined for anything else (it is then parsed in full). Like
 * contentDeltaOf, it answers only for an exact serialisation, and then as JSON.parse would.
 */
export function otherChunkOf(data: string): ChunkReading | undefined {
  const m = OTHER_CHUNK.exec(data);
  if (m === null) return undefined;
  const [, id, model, literal, finish, prompt, completion] = m as unknown as [string, string, string, string | undefined, string | undefined, string | undefined, string | undefined];
  if (prompt !== undefined) return { id, model, choices: [], usage: { prompt_tokens: Number(prompt), completion_tokens: Number(completion) } };
  if (literal === undefined) return { id, model, choices: [{ delta: {}, finish_reason: finish ?? null }] };
  const content = decodeLiteral(literal);
  if (content === undefined) return undefined;
  return { id, model, choices: [{ delta: { content }, finish_reason: finish ?? null }] };
}
