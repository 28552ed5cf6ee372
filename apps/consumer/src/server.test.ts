// The HTTP API through Hono's app.request(), with the assistant on the real service stack;
// the CLI as a child process against the same stack.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TEST_KEY, type Stack } from '../../inference-service/src/testing/stack.ts';
import { createAssistant } from './assistant.ts';
import { loadConsumerConfig } from './config.ts';
import { createConsumerApp, startConsumer } from './server.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const post = (app: ReturnType<typeof createConsumerApp>, body: unknown) =>
  app.request('/ask', { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('POST /ask', () => {
  it('answers a question with the structured answer and its source', async () => {
    const app = createConsumerApp({ assistant: createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }) });
    const res = await post(app, { question: 'How do I reset my password?' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ source: 'model', model: 'gpt-4o-mini', needs_human: expect.any(Boolean), confidence: expect.any(Number) });
    expect(body.answer).toEqual(expect.any(String));
  });

  it('answers a streamed question as plain text', async () => {
    const app = createConsumerApp({ assistant: createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }) });
    const body = await (await post(app, { question: 'Tell me about your opening hours.', stream: true })).json();
    expect(body.source).toBe('model');
    expect(body.answer.split(' ').length).toBeGreaterThan(3);
  });

  it('still answers 200 with its own fallback when the service rejects the key', async () => {
    const app = createConsumerApp({ assistant: createAssistant({ serviceUrl: stack.url, apiKey: 'sk-wrong' }) });
    const body = await (await post(app, { question: 'Hello?' })).json();
    expect(body).toMatchObject({ source: 'consumer-fallback', needs_human: true, status: 401, error: 'unauthorized' });
  });

  it.each([
    ['not JSON', '{', null],
    ['no question', {}, 'question'],
    ['an empty question', { question: '  ' }, 'question'],
    ['a question that is too long', { question: 'x'.repeat(4001) }, 'question'],
    ['a stream flag that is not boolean', { question: 'hi', stream: 'yes' }, 'stream'],
  ])('rejects %s with 400 naming the field', async (_name, body, param) => {
    const app = createConsumerApp({ assistant: createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }) });
    const res = await post(app, body);
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe(param);
  });

  it('GET /healthz', async () => {
    const app = createConsumerApp({ assistant: createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }) });
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
  });
});

describe('startConsumer and the CLI', () => {
  it('serves /ask over HTTP', async () => {
    const consumer = await startConsumer({ port: 0, serviceUrl: stack.url, apiKey: TEST_KEY });
    try {
      const res = await fetch(`${consumer.url}/ask`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ question: 'Do you ship abroad?' }) });
      expect((await res.json()).source).toBe('model');
    } finally {
      await consumer.close();
    }
  });

  it('prints the answer from the terminal', async () => {
    const node = join(import.meta.dirname, '../../../node_modules/.bin/node');
    const env = { ...process.env, LLM_SERVICE_URL: stack.url, LLM_API_KEY: TEST_KEY };
    const { stdout } = await promisify(execFile)(node, ['--conditions=source', join(import.meta.dirname, 'cli.ts'), '--json', 'How do I reset my password?'], { env });
    expect(JSON.parse(stdout)).toMatchObject({ source: 'model', model: 'gpt-4o-mini' });
  });

  it('reads its environment with documented defaults', () => {
    expect(loadConsumerConfig({})).toEqual({ port: 8090, serviceUrl: 'http://127.0.0.1:8080', apiKey: 'sk-local-dev', model: undefined });
    expect(() => loadConsumerConfig({ CONSUMER_PORT: 'eighty' })).toThrow('CONSUMER_PORT');
  });
});
