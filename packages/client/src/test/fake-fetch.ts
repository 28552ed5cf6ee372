// A scripted `fetch` returning real `Response` objects (openai-node / openapi-fetch test style).
export type Responder = (request: Request) => Response | Promise<Response>;

export interface FakeFetch {
  fetch: typeof globalThis.fetch;
  requests: Request[];
}

/** Each call takes the next responder; the last one repeats. */
export function fakeFetch(...responders: Responder[]): FakeFetch {
  const requests: Request[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    requests.push(request);
    const responder = responders[Math.min(requests.length - 1, responders.length - 1)]!;
    return responder(request);
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function errorJson(status: number, code: string, headers: Record<string, string> = {}, type = 'server_error'): Response {
  return json(status, { error: { code, message: `${code} happened`, type, param: null } }, headers);
}

/** An SSE response whose body is sent as the given raw text pieces (to split events across reads). */
export function sse(pieces: string[], headers: Record<string, string> = {}, signal?: AbortSignal): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(encoder.encode(pieces[i++]!));
      else controller.close();
    },
  });
  void signal;
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', ...headers } });
}

/** A fetch that never answers until its request is aborted (for timeouts). */
export const hangUntilAborted: Responder = (request) =>
  new Promise<Response>((_, reject) => {
    request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
  });

export const completion = (content: string | null = 'Hello', model = 'gpt-4o-mini') => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1764000000,
  model,
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

export const chunk = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1764000000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { content }, finish_reason: finish }],
  })}\n\n`;
