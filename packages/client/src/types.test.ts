// Type-level tests: `tsc -p packages/client --noEmit` (and `npm run typecheck`) fails if any
// expectation or `@ts-expect-error` is wrong; vitest runs the file too so it is counted.
import { describe, expectTypeOf, it } from 'vitest';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  CreateChatCompletionRequest,
  ErrorResponse,
  FinishReason,
  JobAccepted,
  LlmClient,
  ModelId,
  ResponseFormat,
} from './index.ts';

describe('generated types', () => {
  it('const becomes a literal type', () => {
    expectTypeOf<ChatCompletion['object']>().toEqualTypeOf<'chat.completion'>();
    expectTypeOf<ChatCompletionChunk['object']>().toEqualTypeOf<'chat.completion.chunk'>();
    expectTypeOf<JobAccepted['status']>().toEqualTypeOf<'queued'>();
    // @ts-expect-error a different literal is rejected
    const wrong: ChatCompletion['object'] = 'chat.completion.chunk';
    void wrong;
  });

  it('enums are unions of literals', () => {
    expectTypeOf<FinishReason>().toEqualTypeOf<'stop' | 'length' | 'content_filter' | 'tool_calls'>();
    // @ts-expect-error not a finish reason
    const bad: FinishReason = 'eos';
    void bad;
  });

  it('nullable fields keep | null, optional ones stay optional', () => {
    type Message = ChatCompletion['choices'][number]['message'];
    expectTypeOf<Message['content']>().toEqualTypeOf<string | null>();
    expectTypeOf<ChatCompletionChunk['choices'][number]['finish_reason']>().toEqualTypeOf<FinishReason | null>();
    expectTypeOf<ChatCompletion>().toHaveProperty('fallback');
    // @ts-expect-error content is required (nullable, not optional)
    const m: Message = { role: 'assistant' };
    void m;
  });

  it('response_format is a discriminated union on type', () => {
    expectTypeOf<ResponseFormat['type']>().toEqualTypeOf<'text' | 'json_object' | 'json_schema'>();
    const narrow = (f: ResponseFormat) => {
      if (f.type === 'json_schema') expectTypeOf(f.json_schema.name).toEqualTypeOf<string>();
    };
    void narrow;
    // @ts-expect-error json_schema needs its json_schema member
    const missing: ResponseFormat = { type: 'json_schema' };
    void missing;
  });

  it('the model is an open enum: known names offered, other strings accepted', () => {
    expectTypeOf<'gpt-4o-mini'>().toExtend<ModelId>();
    expectTypeOf<'my-private-model'>().toExtend<ModelId>();
    expectTypeOf<ModelId>().not.toEqualTypeOf<string>();
    expectTypeOf<CreateChatCompletionRequest['model']>().toEqualTypeOf<ModelId>();
    // @ts-expect-error a number is not a model
    const n: ModelId = 4;
    void n;
  });

  it('error bodies are typed', () => {
    expectTypeOf<ErrorResponse['error']['code']>().toExtend<string>();
    expectTypeOf<'rate_limit_exceeded'>().toExtend<ErrorResponse['error']['code']>();
    expectTypeOf<ErrorResponse['error']['param']>().toEqualTypeOf<string | null>();
    // @ts-expect-error unknown error code
    const e: ErrorResponse['error']['code'] = 'oops';
    void e;
  });

  it('client methods are typed by the contract', () => {
    type Create = LlmClient['chat']['completions']['create'];
    expectTypeOf<Awaited<ReturnType<Create>>>().toEqualTypeOf<ChatCompletion | JobAccepted>();
    const use = async (client: LlmClient) => {
      const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
      if (r.object === 'chat.completion.job') expectTypeOf(r).toEqualTypeOf<JobAccepted>();
      // @ts-expect-error messages are required
      await client.chat.completions.create({ model: 'gpt-4o' });
      // @ts-expect-error create() is not for streams
      await client.chat.completions.create({ model: 'gpt-4o', messages: [], stream: true });
      // @ts-expect-error temperature is a number
      await client.chat.completions.create({ model: 'gpt-4o', messages: [], temperature: 'hot' });
    };
    void use;
  });
});
