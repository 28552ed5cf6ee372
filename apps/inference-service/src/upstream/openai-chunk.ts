/**
 * A fast reading of the chunk that makes up almost all of an OpenAI stream: a
 * content delta and nothing else (no role, finish, usage or error). The service
 * streams from upstream even for non-streamed requests (to see a silent model by
 * its time to first token), so it reads one such chunk per token; JSON.parse of
 * each was the largest single cost of a request in the benchmark's profile
 * (bench/README.md). One anchored regular expression is ~8x cheaper and builds
 * no objects.
 *
 * It accepts only an exact, whitespace-free serialisation in the field orders
 * OpenAI and the simulator send; anything else (other fields or orders, spaces,
 * the first chunk, the finish, usage, errors) returns undefined and the caller
 * parses the chunk in full. Where it does answer, the answer is what JSON.parse
 * would give: strings that JSON forbids (raw control characters, leading-zero
 * numbers, bad escapes) do not match or fail the literal's decoding.
 * openai-chunk.test.ts checks that property on generated and mutated chunks.
 */

/** A JSON string's body with no escapes (ids, names: never read, only skipped). */
const PLAIN = String.raw`[^"\\\x00-\x1f]*`;
/** A JSON string's body, escapes allowed (decoded by JSON.parse when present). */
const LITERAL = String.raw`((?:[^"\\\x00-\x1f]|\\.)*)`;

const CONTENT_DELTA = new RegExp(
  '^' +
    String.raw`\{"id":"${PLAIN}","object":"chat\.completion\.chunk","created":(?:0|[1-9]\d*),"model":"${PLAIN}",` +
    String.raw`(?:"(?:service_tier|system_fingerprint)":"${PLAIN}",){0,2}` +
    String.raw`"choices":\[\{"index":0,"delta":\{"content":"${LITERAL}"\},` +
    String.raw`(?:"logprobs":null,)?"finish_reason":null(?:,"logprobs":null)?\}\]` +
    String.raw`(?:,"usage":null)?(?:,"obfuscation":"${PLAIN}")?\}` +
    '$',
);

/** The delta's text when `data` is a plain content-delta chunk; undefined when it must be parsed in full. */
export function contentDeltaOf(data: string): string | undefined {
  const match = CONTENT_DELTA.exec(data);
  if (match === null) return undefined;
  const literal = match[1]!;
  if (!literal.includes('\\')) return literal;
  try {
    return JSON.parse(`"${literal}"`) as string;
  } catch {
    return undefined;
  }
}
