/** Shared helpers for this package's tests: requests in both wire formats and an SSE parser. */
import type { WireFormat } from './scenario.ts';

export interface SseEvent {
  readonly event: string | undefined;
  readonly data: string;
}

/** Parse SSE text into events (blank-line separated; `event:` and `data:` fields). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    events.push({ event, data: data.join('\n') });
  }
  return events;
}

export interface ChatCall {
  readonly model?: string;
  readonly messages?: ReadonlyArray<{ role: string; content: unknown }>;
  readonly stream?: boolean;
  readonly extra?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

export const USER_MESSAGES = [{ role: 'user', content: 'How does the gateway handle a failing model?' }] as const;

/** POST a chat request in the given wire format. */
export function chat(baseUrl: string, format: WireFormat, call: ChatCall = {}): Promise<Response> {
  const model = call.model ?? (format === 'openai' ? 'gpt-4o-mini' : 'claude-3.5-sonnet');
  const body: Record<string, unknown> = { model, messages: call.messages ?? USER_MESSAGES, ...call.extra };
  if (call.stream) body['stream'] = true;
  if (format === 'anthropic' && body['max_tokens'] === undefined) body['max_tokens'] = 1024;
  const path = format === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const headers: Record<string, string> =
    format === 'openai' ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
  return fetch(baseUrl + path, {
    method: 'POST',
    headers: { ...headers, ...call.headers },
    body: JSON.stringify(body),
    ...(call.signal && { signal: call.signal }),
  });
}

/** Read a body to the end, keeping what arrived before an error (a cut stream). */
export async function readUntilEnd(response: Response): Promise<{ text: string; error: unknown }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode(), error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** Read until `predicate(text)` holds, then see whether anything more arrives within `quietMs`. */
export async function readThenListen(
  response: Response,
  predicate: (text: string) => boolean,
  quietMs: number,
): Promise<{ text: string; moreArrived: boolean }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!predicate(text)) {
    const { done, value } = await reader.read();
    if (done) return { text, moreArrived: false };
    text += decoder.decode(value, { stream: true });
  }
  const next = reader.read().then(() => true, () => true);
  const quiet = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), quietMs));
  const moreArrived = await Promise.race([next, quiet]);
  await reader.cancel().catch(() => undefined);
  return { text, moreArrived };
}

/** Text content of a streamed answer in either format. */
export function streamedText(format: WireFormat, events: readonly SseEvent[]): string {
  let text = '';
  for (const e of events) {
    if (e.data === '[DONE]') continue;
    let parsed: any;
    try {
      parsed = JSON.parse(e.data);
    } catch {
      continue;
    }
    if (format === 'openai') text += parsed.choices?.[0]?.delta?.content ?? '';
    else if (parsed.type === 'content_block_delta') text += parsed.delta.text;
  }
  return text;
}

/** Text of a non-streamed answer in either format. */
export function completionText(format: WireFormat, body: any): string {
  return format === 'openai' ? body.choices[0].message.content : body.content[0].text;
}
