import type { FallbackStrategy } from './models.ts';

/** What a response's headers say about how it was produced. */
export interface ResponseMeta {
  status: number;
  headers: Headers;
  /** `x-request-id`: quote it when reporting a problem. */
  requestId: string | undefined;
  /** `x-llm-fallback`: the fallback strategy that answered, if any. */
  fallback: FallbackStrategy | undefined;
  /** `Location` of a 202 job. */
  location: string | undefined;
}

export function metaOf(response: Response): ResponseMeta {
  const h = response.headers;
  return {
    status: response.status,
    headers: h,
    requestId: h.get('x-request-id') ?? undefined,
    fallback: (h.get('x-llm-fallback') as FallbackStrategy | null) ?? undefined,
    location: h.get('location') ?? undefined,
  };
}

export interface WithResponse<T> {
  data: T;
  meta: ResponseMeta;
  response: Response;
}

/**
 * A promise of the parsed body that can also give the response (openai-node's `APIPromise`):
 * `await client.models.list()` or `const { data, meta } = await client.models.list().withResponse()`.
 */
export class ApiPromise<T> implements PromiseLike<T> {
  readonly #inner: Promise<WithResponse<T>>;

  constructor(inner: Promise<WithResponse<T>>) {
    this.#inner = inner;
  }

  withResponse(): Promise<WithResponse<T>> {
    return this.#inner;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#inner.then((r) => r.data).then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }
}
