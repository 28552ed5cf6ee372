// Logs carry ids, codes, sizes and hashes: never the prompt, the completion or the key.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, startStack, type Stack } from '../testing/stack.ts';

const unique = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;
const KEY = unique('sk-obs');
const KEY_ID = 'k1';
const PROMPT = unique('secret prompt');
const STRUCTURED_PROMPT = unique('secret structured prompt');

const personSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' } },
  required: ['name', 'age'],
  additionalProperties: false,
};

let stack: Stack;
const logs: string[] = [];
const responses: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    logs,
    // Structured requests to gpt-4o-mini get prose around a fenced JSON block: invalid output.
    scenario: { rules: [{ model: 'gpt-4o-mini', kind: 'invalid_json' }] },
    config: { apiKeys: new Map([[KEY, { id: KEY_ID }]]) },
  });
  const plain = await stack.chat(ask(PROMPT), { key: KEY });
  expect(plain.status).toBe(200);
  responses.push(await plain.text());
  const structured = await stack.chat(
    ask(STRUCTURED_PROMPT, { response_format: { type: 'json_schema', json_schema: { name: 'person', schema: personSchema } } }),
    { key: KEY },
  );
  responses.push(await structured.text());
  // Wait (bounded) for both request lines: the line is written as the response finishes.
  const deadline = Date.now() + 2000;
  while (logs.filter((l) => JSON.parse(l).msg === 'request').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
});

afterAll(async () => {
  await stack?.close();
});

const parsed = () => logs.map((l) => JSON.parse(l) as Record<string, any>);

describe('log lines', () => {
  it('are JSON and never contain the prompts, the completion text or the API key', () => {
    expect(logs.length).toBeGreaterThanOrEqual(3);
    const completion = JSON.parse(responses[0]!).choices[0].message.content as string;
    expect(completion.length).toBeGreaterThan(10);
    for (const line of logs) {
      expect(line).not.toContain(PROMPT);
      expect(line).not.toContain(STRUCTURED_PROMPT);
      expect(line).not.toContain(KEY);
      expect(line).not.toContain(completion);
    }
    // The test would notice a leak: the secrets do travel through the service.
    expect(responses.join('')).not.toContain(KEY);
  });

  it('have one request line per request with ids, model, status, latency and tokens', () => {
    const requests = parsed().filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(2);
    const [plain] = requests;
    const body = JSON.parse(responses[0]!);
    expect(plain).toMatchObject({ keyId: KEY_ID, model: 'gpt-4o-mini', status: 200, promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens });
    expect(plain!.requestId).toMatch(/\S{8,}/);
    expect(plain!.latencyMs).toBeTypeOf('number');
    expect(plain!.level).toBe('info');
    for (const r of requests) {
      expect(r.keyId).toBe(KEY_ID);
      expect(r.status).toBeTypeOf('number');
    }
    expect(new Set(requests.map((r) => r.requestId)).size).toBe(2);
  });

  it('describe invalid model output by length, hash and validation error only', () => {
    const invalid = parsed().filter((l) => l.msg === 'invalid structured output');
    expect(invalid.map((l) => l.model)).toContain('gpt-4o-mini');
    for (const line of invalid) {
      expect(line.level).toBe('warn');
      expect(Object.keys(line.output).sort()).toEqual(['error', 'length', 'sha256']);
      expect(line.output.length).toBeGreaterThan(0);
      expect(line.output.sha256).toMatch(/^[0-9a-f]{16}$/);
      expect(line.output.error).toBeTypeOf('string');
      expect(line.output.error).not.toContain('```');
    }
  });
});

describe('with tracing off', () => {
  it("passes the caller's traceparent upstream untouched and logs its trace id", async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const before = stack.sim.recorder.attempts().length;
    const res = await stack.chat(ask('traced question'), { key: KEY, headers: { traceparent, tracestate: 'vendor=1' } });
    expect(res.status).toBe(200);
    expect(stack.sim.recorder.attempts().slice(before).map((r) => r.traceparent)).toEqual([traceparent]);
    const deadline = Date.now() + 2000;
    const line = () => parsed().find((l) => l.msg === 'request' && l.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
    while (!line() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(line()).toBeDefined();
    // A malformed one is not passed on.
    const n = stack.sim.recorder.attempts().length;
    await stack.chat(ask('badly traced question'), { key: KEY, headers: { traceparent: 'not-a-trace' } });
    expect(stack.sim.recorder.attempts().slice(n).map((r) => r.traceparent)).toEqual([undefined]);
  });
});
