/**
 * Structured output for upstreams without native JSON-schema support: the
 * schema goes into the system prompt as an instruction. The gateway checks
 * the answer against the schema afterwards either way.
 */
import type { UpstreamMessage, UpstreamResponseFormat } from './types.ts';

/** The instruction for a JSON response format, or undefined for plain text. */
export function jsonInstruction(format: UpstreamResponseFormat | undefined): string | undefined {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.schema === undefined) return 'Respond with a single valid JSON object and nothing else: no prose, no code fences.';
  return (
    'Respond with a single valid JSON object and nothing else: no prose, no code fences. ' +
    `The object must conform to this JSON Schema:\n${JSON.stringify(format.schema)}`
  );
}

/** Messages with the instruction appended to the (first) system message, or a system message added in front. */
export function withInstruction(messages: UpstreamMessage[], instruction: string): UpstreamMessage[] {
  const i = messages.findIndex((m) => m.role === 'system');
  if (i === -1) return [{ role: 'system', content: instruction }, ...messages];
  const copy = messages.slice();
  copy[i] = { role: 'system', content: `${messages[i]!.content}\n\n${instruction}` };
  return copy;
}
