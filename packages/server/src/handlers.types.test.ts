// Type-level tests: checked by `npx tsc -p packages/server --noEmit` (the @ts-expect-error lines fail
// type checking if the contract ever allows them); the runtime part only keeps vitest honest.
import type { ChatCompletion, ErrorResponse, JobAccepted } from '@llmgw/contract';
import { describe, expectTypeOf, it } from 'vitest';
import type { CreateChatCompletionInput, CreateChatCompletionResult, GetHealthResult, GetModelInput, GetModelResult, Handlers } from './index.ts';

const completion = {} as ChatCompletion;
const error = {} as ErrorResponse;

describe('Handlers result union', () => {
  it('allows exactly the shapes the contract documents', () => {
    expectTypeOf<{ status: 200; body: ChatCompletion }>().toExtend<CreateChatCompletionResult>();
    expectTypeOf<{ status: 200; sse: ReadableStream<Uint8Array> }>().toExtend<CreateChatCompletionResult>();
    expectTypeOf<{ status: 202; body: JobAccepted; headers: { location: string } }>().toExtend<CreateChatCompletionResult>();
    expectTypeOf<{ status: 503; body: ErrorResponse }>().toExtend<CreateChatCompletionResult>();

    expectTypeOf<{ status: 202; body: ChatCompletion }>().not.toExtend<CreateChatCompletionResult>();
    expectTypeOf<{ status: 418; body: ErrorResponse }>().not.toExtend<CreateChatCompletionResult>();
    expectTypeOf<{ status: 200; sse: ReadableStream<Uint8Array> }>().not.toExtend<GetHealthResult>();

    const ok: CreateChatCompletionResult[] = [
      { status: 200, body: completion },
      { status: 429, body: error, headers: { 'retry-after': '1' } },
    ];
    // @ts-expect-error 200 carries a ChatCompletion, not an error envelope
    const wrongBody: CreateChatCompletionResult = { status: 200, body: error };
    // @ts-expect-error 418 is not a documented status
    const wrongStatus: CreateChatCompletionResult = { status: 418, body: error };
    // @ts-expect-error /healthz is not an event stream
    const wrongStream: GetHealthResult = { status: 200, sse: new ReadableStream() };
    void [ok, wrongBody, wrongStatus, wrongStream];
  });

  it('exports the types of every operation from the package entry (GetModel was once left out)', () => {
    expectTypeOf<GetModelInput['params']['model']>().toEqualTypeOf<string>();
    expectTypeOf<{ status: 404; body: ErrorResponse }>().toExtend<GetModelResult>();
  });

  it('types the validated input', () => {
    expectTypeOf<CreateChatCompletionInput['body']['model']>().toExtend<string>();
    expectTypeOf<'gpt-4o-mini'>().toExtend<CreateChatCompletionInput['body']['model']>();
    expectTypeOf<CreateChatCompletionInput['headers']['x-llm-no-degraded']>().toEqualTypeOf<'true' | 'false' | undefined>();
    expectTypeOf<CreateChatCompletionInput['headers']['x-request-id']>().toEqualTypeOf<string | undefined>();
    const handlers: Pick<Handlers, 'getJob'> = {
      getJob: (_c, input) => {
        expectTypeOf(input.params.job_id).toEqualTypeOf<string>();
        return { status: 404, body: error };
      },
    };
    void handlers;
  });

  it('a handler cannot return an undocumented shape', () => {
    const handlers: Pick<Handlers, 'getHealth'> = {
      // @ts-expect-error Health is { status: 'ok' }
      getHealth: () => ({ status: 200, body: { status: 'fine' } }),
    };
    void handlers;
  });
});
