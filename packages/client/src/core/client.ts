import { createFetchClient, createOperations } from '../generated/operations.ts';
import type { GatewayFetchClient, Operations } from '../generated/operations.ts';
import { ConnectionError, InvalidResponseError, JobFailedError, LlmApiError, TimeoutError } from './errors.ts';
import { ApiPromise, metaOf } from './meta.ts';
import type { WithResponse } from './meta.ts';
import type {
  ChatCompletion,
  CreateChatCompletionRequest,
  Health,
  Job,
  JobAccepted,
  ModelList,
  Readiness,
} from './models.ts';
import { ChatCompletionStream } from './streaming.ts';

/** Default per-request timeout: longer than any model's total timeout in the agreement, so the service's own 504/fallback arrives first. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/**
 * Default longest wait for the next bytes of a stream. Longer than the gaps the service itself lets pass
 * (its `streamIdleMs` before failing over mid-stream, plus the fallback's first token), so its own
 * failover or in-band error arrives first; the client only catches a connection that went silent.
 */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_JOB_POLL_MS = 1_000;
export const DEFAULT_JOB_WAIT_TIMEOUT_MS = 300_000;

export interface LlmClientOptions {
  /** e.g. `http://127.0.0.1:8080` (no trailing `/v1`: paths in the contract carry it). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Defaults to the global `fetch`; inject one for tests or a custom agent. */
  fetch?: typeof globalThis.fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Per-request timeout in ms, until the response headers arrive (0 = none). Default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * For streams, after the headers: the longest wait for the next bytes in ms (0 = none); past it the request is
   * aborted and iteration throws `StreamInterruptedError` (code `client_timeout`). Default {@link DEFAULT_STREAM_IDLE_TIMEOUT_MS}.
   */
  streamIdleTimeoutMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
  /** Overrides the client's `streamIdleTimeoutMs` for this call (`stream()` only). */
  streamIdleTimeoutMs?: number;
  headers?: Record<string, string>;
  /** Sent as `x-request-id`. */
  requestId?: string;
  /** Sends `x-llm-no-degraded: true`: the error instead of a degraded fallback answer. */
  noDegraded?: boolean;
}

export interface JobWaitOptions {
  /** Poll interval. Default {@link DEFAULT_JOB_POLL_MS}. */
  pollMs?: number;
  /** Give up after this long with a `TimeoutError`. Default {@link DEFAULT_JOB_WAIT_TIMEOUT_MS}. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A non-streaming request body (`stream` absent or false). */
export type ChatCompletionCreateParams = CreateChatCompletionRequest & { stream?: false | null };
/** A streaming request body (`stream` is set by `stream()`). */
export type ChatCompletionStreamParams = CreateChatCompletionRequest & { stream?: true };

export interface LlmClient {
  chat: {
    completions: {
      /** 200 → `ChatCompletion` (`object: 'chat.completion'`); 202 → `JobAccepted` (`object: 'chat.completion.job'`). */
      create(body: ChatCompletionCreateParams, options?: RequestOptions): ApiPromise<ChatCompletion | JobAccepted>;
      /** Resolves when the response headers arrive (HTTP errors throw here); then iterate the chunks once. */
      stream(body: ChatCompletionStreamParams, options?: RequestOptions): ApiPromise<ChatCompletionStream>;
    };
  };
  models: { list(options?: RequestOptions): ApiPromise<ModelList> };
  jobs: {
    get(id: string, options?: RequestOptions): ApiPromise<Job>;
    /** Polls until the job succeeds (its `ChatCompletion`), fails (`JobFailedError`) or `timeoutMs` passes (`TimeoutError`). */
    wait(id: string, options?: JobWaitOptions): Promise<ChatCompletion>;
  };
  health: {
    live(options?: RequestOptions): ApiPromise<Health>;
    /** Both 200 (ready) and 503 (not ready) resolve to the `Readiness` body. */
    ready(options?: RequestOptions): ApiPromise<Readiness>;
  };
  /** The generated per-operation methods (openapi-fetch `{data, error, response}`), for anything not covered above. */
  operations: Operations;
}

type FetchResult = { data?: unknown; error?: unknown; response: Response };
type ExchangeInit = { signal: AbortSignal; headers: Record<string, string>; fetch: (input: Request) => Promise<Response> };

export function createLlmClient(options: LlmClientOptions): LlmClient {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const defaultStreamIdleTimeoutMs = options.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
  const baseHeaders: Record<string, string> = { ...options.headers };
  if (options.apiKey) baseHeaders.authorization = `Bearer ${options.apiKey}`;
  // Late-bound so a test's or polyfill's global fetch is picked up.
  const baseFetch = options.fetch ?? ((input: Request) => globalThis.fetch(input));
  const fetchClient: GatewayFetchClient = createFetchClient({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: baseHeaders,
    fetch: (input: Request) => baseFetch(input),
  });
  const operations = createOperations(fetchClient);

  /**
   * Runs one HTTP exchange with a timeout and the caller's signal; maps failures to typed errors.
   * With `keepOpen` (streams) the caller's abort stays wired to the request after success: call `release` when done.
   */
  async function exchange<T>(
    call: (init: ExchangeInit) => Promise<FetchResult>,
    options: RequestOptions | undefined,
    accept: (status: number) => boolean = () => false,
    keepOpen = false,
  ): Promise<WithResponse<T> & { controller: AbortController; release: () => void }> {
    const controller = new AbortController();
    const userSignal = options?.signal;
    const onUserAbort = () => controller.abort(userSignal?.reason);
    const release = () => userSignal?.removeEventListener('abort', onUserAbort);
    if (userSignal?.aborted) onUserAbort();
    else userSignal?.addEventListener('abort', onUserAbort, { once: true });
    let opened = false;
    // Set once an HTTP answer arrived: a later failure is its body's, not the connection's.
    let answer: Response | undefined;
    const fetch = async (input: Request) => (answer = await baseFetch(input));
    const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
    let timedOut = false;
    // setTimeout (not AbortSignal.timeout) so fake timers drive it in tests.
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, timeoutMs)
        : undefined;
    try {
      const result = await call({ signal: controller.signal, headers: requestHeaders(options), fetch });
      const { response } = result;
      if (result.error !== undefined || !response.ok) {
        if (accept(response.status)) {
          opened = true;
          return { data: result.error as T, meta: metaOf(response), response, controller, release };
        }
        throw LlmApiError.generate(response.status, result.error, response.headers);
      }
      opened = true;
      return { data: result.data as T, meta: metaOf(response), response, controller, release };
    } catch (error) {
      if (error instanceof LlmApiError) throw error;
      if (answer && error instanceof SyntaxError) throw invalidJson(answer, error);
      if (timedOut) {
        throw new TimeoutError({ message: `No response within ${timeoutMs} ms.`, code: 'client_timeout', retryable: true, cause: error });
      }
      if (userSignal?.aborted) throw error;
      throw new ConnectionError({ message: 'Could not reach the service.', retryable: true, cause: error });
    } finally {
      clearTimeout(timer);
      if (!keepOpen || !opened) release();
    }
  }

  const simple = <T>(call: Parameters<typeof exchange>[0], options?: RequestOptions, accept?: (s: number) => boolean) =>
    new ApiPromise<T>(exchange<T>(call, options, accept).then(({ data, meta, response }) => ({ data, meta, response })));

  const client: LlmClient = {
    chat: {
      completions: {
        create(body, options) {
          return simple<ChatCompletion | JobAccepted>(
            (init) => operations.createChatCompletion({ body: body as CreateChatCompletionRequest, ...init }),
            options,
          );
        },
        stream(body, options) {
          const streamed = { ...body, stream: true } as CreateChatCompletionRequest;
          const inner = exchange<ReadableStream<Uint8Array> | null>(
            (init) => fetchClient.POST('/v1/chat/completions', { body: streamed, parseAs: 'stream', ...init }),
            options,
            undefined,
            true,
          ).then(({ data, meta, response, controller, release }) => {
            const type = response.headers.get('content-type') ?? '';
            if (!data || !type.includes('text/event-stream')) {
              controller.abort();
              release();
              throw new LlmApiError({
                message: `Expected text/event-stream for a streamed request, got ${response.status} ${type || 'no content-type'}.`,
                status: response.status,
                requestId: meta.requestId,
                headers: meta.headers,
              });
            }
            const idleTimeoutMs = options?.streamIdleTimeoutMs ?? defaultStreamIdleTimeoutMs;
            return { data: new ChatCompletionStream(data, meta, controller, { idleTimeoutMs, onClose: release }), meta, response };
          });
          return new ApiPromise(inner);
        },
      },
    },
    models: {
      list(options) {
        return simple<ModelList>((init) => operations.listModels(init), options);
      },
    },
    jobs: {
      get(id, options) {
        return simple<Job>((init) => operations.getJob({ params: { path: { job_id: id } }, ...init }), options);
      },
      wait(id, options) {
        return waitForJob(client.jobs.get, id, options);
      },
    },
    health: {
      live(options) {
        return simple<Health>((init) => operations.getHealth(init), options);
      },
      ready(options) {
        return simple<Readiness>((init) => operations.getReadiness(init), options, (status) => status === 503);
      },
    },
    operations,
  };
  return client;
}

/** A 2xx whose body is not the JSON the contract promises: the same request would get the same answer. */
function invalidJson(response: Response, cause: SyntaxError): InvalidResponseError {
  return new InvalidResponseError({
    message: `The response (HTTP ${response.status}) was not valid JSON.`,
    status: response.status,
    code: 'invalid_response',
    requestId: response.headers.get('x-request-id') ?? undefined,
    headers: response.headers,
    retryable: false,
    cause,
  });
}

function requestHeaders(options: RequestOptions | undefined): Record<string, string> {
  if (!options) return {};
  const headers: Record<string, string> = { ...options.headers };
  if (options.requestId) headers['x-request-id'] = options.requestId;
  if (options.noDegraded) headers['x-llm-no-degraded'] = 'true';
  return headers;
}

/** Polls a job through `get` (the resilient client passes its retrying `jobs.get`). */
export async function waitForJob(
  get: (id: string, options?: RequestOptions) => PromiseLike<Job>,
  id: string,
  options: JobWaitOptions | undefined,
): Promise<ChatCompletion> {
  const pollMs = options?.pollMs ?? DEFAULT_JOB_POLL_MS;
  const timeoutMs = options?.timeoutMs ?? DEFAULT_JOB_WAIT_TIMEOUT_MS;
  const signal = options?.signal;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const job = await get(id, signal ? { signal } : undefined);
    if (job.status === 'succeeded' && job.result) return job.result;
    if (job.status === 'failed') {
      throw new JobFailedError({
        message: job.error?.message ?? `Job ${id} failed.`,
        code: job.error?.code,
        type: job.error?.type,
        param: job.error?.param,
        retryable: false,
        body: job,
      });
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new TimeoutError({ message: `Job ${id} did not finish within ${timeoutMs} ms.`, code: 'client_timeout', retryable: false });
    await sleep(Math.min(pollMs, left), signal);
  }
}

/** An abortable sleep on setTimeout (fake-timer friendly). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
