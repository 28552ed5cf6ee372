// Every interaction of every pact file is within the OpenAPI contract (runs after the consumer
// tests wrote the pacts: vitest project group 1).
import { describe, expect, it } from 'vitest';
import { PACT_DIR, STATES } from '../../../consumer/src/pact/interactions.ts';
import { checkInteraction, readPactFiles, type PactInteraction } from './pact-contract.ts';

const pacts = readPactFiles(PACT_DIR);

describe('pact files against the OpenAPI contract', () => {
  it('finds the consumer pacts', () => {
    expect(pacts.map((p) => p.pact.consumer.name)).toContain('support-assistant');
    // Every provider state the consumer names is one the verification implements.
    const states = new Set(pacts.flatMap((p) => p.pact.interactions.flatMap((i) => i.providerStates?.map((s) => s.name) ?? [])));
    expect([...states].filter((s) => !Object.values(STATES).includes(s as never))).toEqual([]);
  });

  it('validates every request and response body, path, method and status', () => {
    const problems = pacts.flatMap(({ file, pact }) => pact.interactions.flatMap((i) => checkInteraction(i).map((p) => `${file}: ${p}`)));
    expect(problems).toEqual([]);
    expect(pacts.flatMap((p) => p.pact.interactions).length).toBeGreaterThanOrEqual(10);
  });
});

describe('the check names the interaction and the field', () => {
  const ok: PactInteraction = {
    description: 'a plain question',
    request: { method: 'POST', path: '/v1/chat/completions', body: { content: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } } },
    response: {
      status: 200,
      body: { content: { id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } } },
    },
  };
  const edit = (f: (i: PactInteraction) => void) => {
    const copy = structuredClone(ok);
    f(copy);
    return checkInteraction(copy);
  };

  it.each<[string, (i: PactInteraction) => void, string]>([
    ['a renamed response field', (i) => {
      const body = i.response.body!.content as Record<string, unknown>;
      body.choice = body.choices;
      delete body.choices;
    }, '"a plain question": response 200 body (ChatCompletion) choices: is required'],
    ['a wrong request field type', (i) => ((i.request.body!.content as Record<string, unknown>).temperature = 'warm'), '"a plain question": request body (CreateChatCompletionRequest) temperature: must be number'],
    ['an undocumented status', (i) => (i.response.status = 418), '"a plain question": POST /v1/chat/completions has no 418 response in the contract'],
    ['an unknown path', (i) => (i.request.path = '/v1/answers'), '"a plain question": POST /v1/answers is not a path of the contract'],
    ['an error envelope with an unknown code', (i) => {
      i.response.status = 503;
      i.response.body = { content: { error: { code: 'oops', message: 'm', type: 'server_error', param: null } } };
    }, '"a plain question": response 503 body (ErrorResponse) error.code: must be one of'],
  ])('%s', (_name, change, message) => {
    expect(checkInteraction(ok)).toEqual([]);
    const problems = edit(change);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('requires the request of a 400 interaction to be invalid', () => {
    expect(edit((i) => (i.response = { status: 400, body: { content: { error: { code: 'invalid_request', message: 'm', type: 'invalid_request_error', param: null } } } })))
      .toEqual(['"a plain question": the request body is valid CreateChatCompletionRequest, yet the interaction expects 400']);
  });

  it('validates each event of a streamed answer against ChatCompletionChunk', () => {
    const event = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\n\n`;
    const good = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] };
    const streamed = (body: string): PactInteraction => ({ ...ok, response: { status: 200, headers: { 'content-type': ['text/event-stream'] }, body: { content: body } } });
    expect(checkInteraction(streamed(`${event(good)}data: [DONE]\n\n`))).toEqual([]);
    expect(checkInteraction(streamed(event(good)))).toEqual(['"a plain question": the event stream does not end with data: [DONE]']);
    expect(checkInteraction(streamed(`${event({ ...good, choices: [{ index: 0, delta: {}, finish_reason: 'done' }] })}data: [DONE]\n\n`))[0]).toContain(
      '"a plain question": response 200 event 0 (ChatCompletionChunk) choices[0].finish_reason',
    );
  });

  it('accepts a job path with its id', () => {
    expect(checkInteraction({ description: 'poll', request: { method: 'GET', path: '/v1/jobs/job_1' }, response: { status: 404, body: { content: { error: { code: 'job_not_found', message: 'm', type: 'not_found_error', param: 'job_id' } } } } })).toEqual([]);
  });
});
