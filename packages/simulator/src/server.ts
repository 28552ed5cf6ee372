/**
 * startSimulator(): the HTTP server, routing, the admin API and lifecycle.
 * Everything that does not depend on a request (model lists, compiled rules)
 * is built here once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AnswerCache, DEFAULT_ANSWER_CACHE_SIZE } from './answer.ts';
import { createChatHandler } from './chat-handler.ts';
import { FaultPlanner } from './fault-planner.ts';
import { readBody, sendJson } from './http-util.ts';
import { DEFAULT_RATE_LIMITS, RateLimitTracker, type RateLimits } from './rate-limit.ts';
import { DEFAULT_MAX_RECORDS, Recorder } from './recorder.ts';
import { EMPTY_SCENARIO, parseScenario, parseScenarioJson, ScenarioError, type Scenario } from './scenario.ts';
import { anthropicFormat, openAiFormat, type WireFormatter } from './wire-format.ts';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_SEED = 42;
export const DEFAULT_MODELS: readonly string[] = Object.freeze(['gpt-4o-mini', 'gpt-4o', 'claude-3.5-sonnet', 'llama-3.2-70b']);
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Fixed "created" stamp for listed models: the list must not change between runs. */
const MODEL_CREATED_AT = 1_700_000_000;

export interface SimulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Initial scenario (validated; default: no faults). */
  readonly scenario?: Scenario | unknown;
  /** Seed for probabilities and latency draws when the scenario has none (default 42). */
  readonly seed?: number;
  /** Serve the /_sim admin API (default false). */
  readonly admin?: boolean;
  /** When set, requests without this key get 401 (Bearer for OpenAI; x-api-key or Bearer for Anthropic). */
  readonly apiKey?: string;
  /** Models listed by GET /v1/models (default DEFAULT_MODELS). Chat requests accept any model name. */
  readonly models?: readonly string[];
  /** Clock in epoch ms (default performance.timeOrigin + performance.now()); drives windows and records. */
  readonly now?: () => number;
  /** Records kept before the oldest are dropped (default 100 000). */
  readonly maxRecords?: number;
  /** Answers kept in the LRU cache (default 1 000). */
  readonly answerCacheSize?: number;
  /** Limits shown in rate-limit headers (default 10 000 rpm, 2 000 000 tpm). */
  readonly rateLimits?: Partial<RateLimits>;
  /** Largest accepted request body (default 10 MiB). */
  readonly maxBodyBytes?: number;
}

export interface Simulator {
  /** e.g. http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly recorder: Recorder;
  /** The active scenario. */
  readonly scenario: Scenario;
  /** Validate and activate a scenario (throws ScenarioError); its clock and counters start now. */
  setScenario(scenario: Scenario | unknown): void;
  /** Clear records and restart the scenario clock, attempt counters and PRNG. */
  reset(): void;
  /** Stop listening and destroy every open connection, hanging ones included. */
  close(): Promise<void>;
}

const defaultNow = (): number => performance.timeOrigin + performance.now();

function modelLists(models: readonly string[]): { openai: string; anthropic: string; byId: Map<string, string> } {
  const openaiModels = models.map((id) => ({ id, object: 'model', created: MODEL_CREATED_AT, owned_by: 'llmgw-simulator' }));
  const createdAt = new Date(MODEL_CREATED_AT * 1000).toISOString();
  return {
    openai: JSON.stringify({ object: 'list', data: openaiModels }),
    anthropic: JSON.stringify({
      data: models.map((id) => ({ type: 'model', id, display_name: id, created_at: createdAt })),
      has_more: false,
      first_id: models[0] ?? null,
      last_id: models[models.length - 1] ?? null,
    }),
    byId: new Map(openaiModels.map((m) => [m.id, JSON.stringify(m)])),
  };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const now = options.now ?? defaultNow;
  const admin = options.admin ?? false;
  const apiKey = options.apiKey;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const recorder = new Recorder(options.maxRecords ?? DEFAULT_MAX_RECORDS);
  const rateLimits = new RateLimitTracker({ ...DEFAULT_RATE_LIMITS, ...options.rateLimits }, now);
  const planner = new FaultPlanner(
    options.scenario === undefined ? EMPTY_SCENARIO : parseScenario(options.scenario),
    options.seed ?? DEFAULT_SEED,
    now,
  );
  const lists = modelLists(options.models ?? DEFAULT_MODELS);
  const handleChat = createChatHandler({
    planner,
    recorder,
    answers: new AnswerCache(options.answerCacheSize ?? DEFAULT_ANSWER_CACHE_SIZE),
    rateLimits,
    now,
    apiKey,
    maxBodyBytes,
  });

  function reset(): void {
    recorder.clear();
    rateLimits.clear();
    planner.restart();
  }

  function notFound(res: ServerResponse, wire: WireFormatter, message: string): void {
    sendJson(res, 404, wire.errorBody(404, { message, code: 'not_found' }, 'req_sim_none'));
  }

  function handleModels(req: IncomingMessage, res: ServerResponse, path: string): void {
    const anthropic = req.headers['anthropic-version'] !== undefined;
    const wire = anthropic ? anthropicFormat : openAiFormat;
    if (apiKey !== undefined && req.headers['authorization'] !== `Bearer ${apiKey}` && req.headers['x-api-key'] !== apiKey) {
      sendJson(res, 401, wire.errorBody(401, { code: 'invalid_api_key' }, 'req_sim_none'));
      return;
    }
    if (path === '/v1/models') {
      sendJson(res, 200, anthropic ? lists.anthropic : lists.openai);
      return;
    }
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    const model = lists.byId.get(id);
    if (model) sendJson(res, 200, model);
    else sendJson(res, 404, wire.errorBody(404, { message: `The model '${id}' does not exist`, code: 'model_not_found' }, 'req_sim_none'));
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    const route = `${req.method} ${path}`;
    if (route === 'GET /_sim/scenario') {
      sendJson(res, 200, JSON.stringify(planner.scenario));
    } else if (route === 'PUT /_sim/scenario') {
      try {
        planner.setScenario(parseScenarioJson(await readBody(req, maxBodyBytes), 'request body'));
        sendJson(res, 200, JSON.stringify({ ok: true, rules: planner.scenario.rules.length }));
      } catch (error) {
        const issues = error instanceof ScenarioError ? error.issues : [(error as Error).message];
        sendJson(res, 400, JSON.stringify({ error: { type: 'invalid_scenario', message: (error as Error).message, issues } }));
      }
    } else if (route === 'GET /_sim/records') {
      const model = new URLSearchParams(query).get('model') ?? undefined;
      sendJson(res, 200, JSON.stringify({ records: recorder.attempts(model) }));
    } else if (route === 'POST /_sim/reset') {
      reset();
      sendJson(res, 200, JSON.stringify({ ok: true }));
    } else {
      notFound(res, openAiFormat, `Unknown admin route ${route}`);
    }
  }

  function route(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method;
    if (method === 'POST' && path === '/v1/chat/completions') return handleChat(req, res, openAiFormat);
    if (method === 'POST' && path === '/v1/messages') return handleChat(req, res, anthropicFormat);
    if (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) return handleModels(req, res, path);
    if (admin && path.startsWith('/_sim/')) return handleAdmin(req, res, path, q === -1 ? '' : url.slice(q + 1));
    notFound(res, req.headers['anthropic-version'] !== undefined ? anthropicFormat : openAiFormat, `Unknown request URL: ${method} ${path}.`);
  }

  const sockets = new Set<Socket>();
  const server = createServer({ keepAlive: true }, (req, res) => {
    const pending = route(req, res);
    if (pending) {
      pending.catch((error: unknown) => {
        // A bug, not a fault: answer 500 if we still can, never leave the client waiting.
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, openAiFormat.errorBody(500, { message: `simulator error: ${(error as Error).message}` }, ''));
        else res.destroy();
      });
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A reset or cut makes the client side error; on our side such socket errors are expected noise.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? DEFAULT_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    recorder,
    get scenario() {
      return planner.scenario;
    },
    setScenario(scenario) {
      planner.setScenario(parseScenario(scenario));
    },
    reset,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
