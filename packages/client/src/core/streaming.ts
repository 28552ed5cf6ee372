import { errorBodyOf, isLlmApiError, LlmApiError, StreamInterruptedError } from './errors.ts';
import type { ChatCompletionChunk } from './models.ts';
import { decodeSse } from './sse.ts';
import type { ResponseMeta } from './meta.ts';

const DONE = '[DONE]';

/**
 * A streamed chat completion: a single-use `AsyncIterable` of chunks (openai-node's `Stream`).
 * Leaving the loop early (`break`, `return`, a throw) aborts the HTTP request.
 * An in-band `{error: …}` event, a body that ends without `data: [DONE]`, or a broken
 * connection throws `StreamInterruptedError`: a truncated answer is never passed off as complete.
 */
export class ChatCompletionStream implements AsyncIterable<ChatCompletionChunk> {
  readonly meta: ResponseMeta;
  readonly controller: AbortController;
  #body: ReadableStream<Uint8Array> | null;

  constructor(body: ReadableStream<Uint8Array>, meta: ResponseMeta, controller: AbortController) {
    this.#body = body;
    this.meta = meta;
    this.controller = controller;
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatCompletionChunk> {
    const body = this.#body;
    if (body === null) throw new Error('ChatCompletionStream can be iterated only once');
    this.#body = null;
    return iterateChunks(body, this.meta, this.controller);
  }

  /** Stops the stream and the request. */
  abort(): void {
    this.controller.abort();
  }
}

async function* iterateChunks(
  body: ReadableStream<Uint8Array>,
  meta: ResponseMeta,
  controller: AbortController,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  let done = false;
  try {
    for await (const event of decodeSse(body)) {
      if (event.data === DONE) {
        done = true;
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch (cause) {
        throw interrupted(meta, 'A stream event was not valid JSON.', { cause });
      }
      const envelope = errorBodyOf(parsed);
      if (event.event === 'error' || envelope) {
        throw interrupted(meta, envelope?.message ?? 'The stream reported an error.', {
          code: envelope?.code ?? 'stream_interrupted',
          type: envelope?.type,
          param: envelope?.param,
          body: parsed,
        });
      }
      yield parsed as ChatCompletionChunk;
    }
    throw interrupted(meta, 'The stream ended without [DONE]; the answer is incomplete.');
  } catch (error) {
    if (isLlmApiError(error)) throw error;
    if (controller.signal.aborted) throw error;
    throw interrupted(meta, 'The connection broke during the stream; the answer is incomplete.', { cause: error });
  } finally {
    // Early exit (break/throw) or an error: release the connection.
    if (!done) controller.abort();
  }
}

function interrupted(
  meta: ResponseMeta,
  message: string,
  extra: { code?: string; type?: string | undefined; param?: string | null | undefined; body?: unknown; cause?: unknown } = {},
): LlmApiError {
  return new StreamInterruptedError({
    message,
    status: undefined,
    code: extra.code ?? 'stream_interrupted',
    type: extra.type,
    param: extra.param,
    requestId: meta.requestId,
    headers: meta.headers,
    // Never retried by the client: part of the answer may already have been shown.
    retryable: false,
    body: extra.body,
    cause: extra.cause,
  });
}
