import { errorBodyOf, isLlmApiError, LlmApiError, StreamInterruptedError } from './errors.ts';
import type { ChatCompletionChunk } from './models.ts';
import { decodeSse, SseIdleTimeoutError } from './sse.ts';
import type { ResponseMeta } from './meta.ts';

const DONE = '[DONE]';

/**
 * A streamed chat completion: a single-use `AsyncIterable` of chunks (openai-node's `Stream`).
 * Leaving the loop early (`break`, `return`, a throw) aborts the HTTP request.
 * An in-band `{error: …}` event, a body that ends without `data: [DONE]`, or a broken
 * connection throws `StreamInterruptedError`: a truncated answer is never passed off as complete.
 * So does a wait for data longer than `idleTimeoutMs` (code `client_timeout`), which also aborts the request.
 */
export class ChatCompletionStream implements AsyncIterable<ChatCompletionChunk> {
  readonly meta: ResponseMeta;
  readonly controller: AbortController;
  #body: ReadableStream<Uint8Array> | null;
  readonly #options: ChatCompletionStreamOptions;

  constructor(body: ReadableStream<Uint8Array>, meta: ResponseMeta, controller: AbortController, options: ChatCompletionStreamOptions = {}) {
    this.#body = body;
    this.meta = meta;
    this.controller = controller;
    this.#options = options;
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatCompletionChunk> {
    const body = this.#body;
    if (body === null) throw new Error('ChatCompletionStream can be iterated only once');
    this.#body = null;
    return iterateChunks(body, this.meta, this.controller, this.#options);
  }

  /** Stops the stream and the request. */
  abort(): void {
    this.controller.abort();
    this.#options.onClose?.();
  }
}

export interface ChatCompletionStreamOptions {
  /** Longest wait for the next bytes while iterating, in ms (0 = none). Default 0; the client passes its `streamIdleTimeoutMs`. */
  idleTimeoutMs?: number | undefined;
  /** Called once iteration ends, however it ends (the client detaches its listener from the caller's signal). */
  onClose?: (() => void) | undefined;
}

async function* iterateChunks(
  body: ReadableStream<Uint8Array>,
  meta: ResponseMeta,
  controller: AbortController,
  options: ChatCompletionStreamOptions,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  let done = false;
  try {
    // The timer runs only while a read is pending, so a slow consumer never trips it.
    for await (const event of decodeSse(body, { signal: controller.signal, idleTimeoutMs: options.idleTimeoutMs })) {
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
    if (error instanceof SseIdleTimeoutError) {
      throw interrupted(meta, `No data for ${error.idleTimeoutMs} ms during the stream; the answer is incomplete.`, {
        code: 'client_timeout',
        cause: error,
      });
    }
    if (controller.signal.aborted) throw error;
    throw interrupted(meta, 'The connection broke during the stream; the answer is incomplete.', { cause: error });
  } finally {
    // Early exit (break/throw), an error or an idle timeout: release the connection.
    if (!done) controller.abort();
    options.onClose?.();
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
