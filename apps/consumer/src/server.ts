// The assistant's HTTP API (Hono on @hono/node-server).
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { createAssistant, type Assistant } from './assistant.ts';

/** Longest question accepted (characters): a support question, not a document. */
export const MAX_QUESTION_CHARS = 4_000;

export interface ConsumerAppOptions {
  assistant: Assistant;
}

/**
 * `POST /ask {question, stream?}` -> `AssistantAnswer` (always 200 once the question is valid:
 * the assistant answers even when the service cannot); `GET /healthz` -> `{status: 'ok'}`.
 */
export function createConsumerApp({ assistant }: ConsumerAppOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.post('/ask', async function ask(c) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: { message: 'The body must be JSON: {"question": "..."}', param: null } }, 400);
    }
    const { question, stream } = (typeof body === 'object' && body !== null ? body : {}) as { question?: unknown; stream?: unknown };
    if (typeof question !== 'string' || question.trim() === '') {
      return c.json({ error: { message: 'question: must be a non-empty string', param: 'question' } }, 400);
    }
    if (question.length > MAX_QUESTION_CHARS) {
      return c.json({ error: { message: `question: must be at most ${MAX_QUESTION_CHARS} characters`, param: 'question' } }, 400);
    }
    if (stream !== undefined && typeof stream !== 'boolean') {
      return c.json({ error: { message: 'stream: must be a boolean', param: 'stream' } }, 400);
    }
    // The caller hanging up stops the work upstream too.
    return c.json(await assistant.ask(question, { signal: c.req.raw.signal, stream: stream === true }));
  });
  return app;
}

export interface StartConsumerOptions {
  /** 0 picks a free port. */
  port: number;
  serviceUrl: string;
  apiKey: string;
  /** Default 127.0.0.1. */
  host?: string;
  model?: string;
}

export interface RunningConsumer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startConsumer(options: StartConsumerOptions): Promise<RunningConsumer> {
  const assistant = createAssistant({ serviceUrl: options.serviceUrl, apiKey: options.apiKey, model: options.model });
  const app = createConsumerApp({ assistant });
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        (server as import('node:http').Server).closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
