/**
 * Sees every HTTP exchange the consumer makes for one `ask()`: a `fetch`
 * wrapper that tees each response body, keyed by the AsyncLocalStorage
 * context the ask runs in. This is how the runner learns what the service
 * really sent (the streamed text, `[DONE]` or an in-band error, usage)
 * without trusting the consumer's own summary.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Exchange {
  requestBody: string | undefined;
  status: number;
  /** `x-llm-fallback` header, when a fallback answered. */
  fallbackHeader: string | undefined;
  /** The whole response body, read from a tee (resolves when the body ends or fails). */
  body: Promise<string>;
  /** Error while reading the body (the connection broke), if any. */
  bodyError?: string;
}

export interface AskCapture {
  exchanges: Exchange[];
}

const storage = new AsyncLocalStorage<AskCapture>();

/** Runs `fn` with a fresh capture; exchanges made inside it land there. */
export function withCapture<T>(fn: () => Promise<T>): { capture: AskCapture; result: Promise<T> } {
  const capture: AskCapture = { exchanges: [] };
  return { capture, result: storage.run(capture, fn) };
}

/** A fetch that records into the current capture (and behaves exactly like `base`). */
export function capturingFetch(base: typeof fetch = globalThis.fetch): typeof fetch {
  return async function chaosFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const capture = storage.getStore();
    let requestBody: string | undefined;
    if (capture) {
      if (typeof init?.body === 'string') requestBody = init.body;
      else if (input instanceof Request) requestBody = await input.clone().text().catch(() => undefined);
    }
    const response = await base(input, init);
    if (!capture) return response;
    const exchange: Exchange = {
      requestBody,
      status: response.status,
      fallbackHeader: response.headers.get('x-llm-fallback') ?? undefined,
      body: Promise.resolve(''),
    };
    if (response.body) {
      const [mine, theirs] = response.body.tee();
      exchange.body = readAll(mine, exchange);
      capture.exchanges.push(exchange);
      return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    capture.exchanges.push(exchange);
    return response;
  };
}

async function readAll(stream: ReadableStream<Uint8Array>, exchange: Exchange): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    exchange.bodyError = (error as Error).message;
  }
  return text + decoder.decode();
}

export interface StreamSummary {
  text: string;
  done: boolean;
  /** An in-band `{error}` event was sent. */
  errorEvent: boolean;
  finishReason: string | undefined;
  /** The model named by the chunks (last one wins). */
  models: string[];
  fallback: { strategy: string; degraded: boolean } | undefined;
  usage: { total_tokens: number } | undefined;
}

/** Parses an OpenAI SSE body as the service sent it. */
export function summariseStream(body: string): StreamSummary {
  const out: StreamSummary = { text: '', done: false, errorEvent: false, finishReason: undefined, models: [], fallback: undefined, usage: undefined };
  for (const block of body.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        out.done = true;
        continue;
      }
      let event: any;
      try {
        event = JSON.parse(data);
      } catch {
        continue;
      }
      if (event.error) out.errorEvent = true;
      if (typeof event.model === 'string' && out.models.at(-1) !== event.model) out.models.push(event.model);
      if (event.fallback) out.fallback = event.fallback;
      if (event.usage) out.usage = event.usage;
      for (const choice of event.choices ?? []) {
        if (typeof choice.delta?.content === 'string') out.text += choice.delta.content;
        if (choice.finish_reason) out.finishReason = choice.finish_reason;
      }
    }
  }
  return out;
}
