// Test support: the real service over HTTP on 127.0.0.1, in front of the real
// simulator, with the contract's agreement made fast (short timeouts and
// backoff) so fault tests take milliseconds. Not imported by production code.
import { agreement as contractAgreement, type Agreement } from '@llmgw/contract';
import { createLogger } from '@llmgw/observability';
import { startSimulator, type Scenario, type Simulator } from '@llmgw/simulator';
import { Writable } from 'node:stream';
import { loadConfig, type ServiceConfig } from '../config.ts';
import { defaultRoutes } from '../registry/registry.ts';
import type { RoutesFile } from '../registry/routes-file.ts';
import { startService, type RunningService } from '../server.ts';
import type { ServiceOptions } from '../service.ts';

export const TEST_KEY = 'sk-test-a';
export const OTHER_KEY = 'sk-test-b';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
export type MutableAgreement = Mutable<Agreement>;

/** The contract's agreement with test-friendly timing: same shape, same fallback chains. */
export function fastAgreement(edit?: (a: MutableAgreement) => void): Agreement {
  const a = structuredClone(contractAgreement) as unknown as MutableAgreement;
  a.defaults.retry.initialDelayMs = 20;
  a.defaults.retry.maxDelayMs = 100;
  a.defaults.retry.jitter = 'none';
  a.defaults.retry.budgetMinPerSecond = 100;
  a.defaults.timeouts = { connectMs: 500, firstTokenMs: 400, streamIdleMs: 400, totalMs: 3000 };
  for (const m of Object.values(a.models)) {
    m.timeouts = { totalMs: 3000, firstTokenMs: 400 };
  }
  a.defaults.circuitBreaker.halfOpenAfterMs = 300;
  a.fallback.async.backoffMs = 20;
  edit?.(a);
  return a as unknown as Agreement;
}

export interface StackOptions {
  scenario?: Scenario;
  agreement?: Agreement;
  /** Routes built from the simulator URL; default: every agreement model on the simulator. */
  routes?: (simulatorUrl: string) => RoutesFile;
  config?: Partial<ServiceConfig>;
  service?: Partial<ServiceOptions>;
  /** Collect log lines (JSON strings) here. */
  logs?: string[];
}

export interface Stack {
  url: string;
  sim: Simulator;
  service: RunningService;
  chat(body: unknown, init?: { key?: string | null; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator({ port: 0, scenario: options.scenario });
  const config: ServiceConfig = {
    ...loadConfig({ LLM_API_KEYS: `${TEST_KEY}=team-a,${OTHER_KEY}=team-b:gpt-4o-mini` }, []),
    port: 0,
    validateResponses: true,
    logLevel: options.logs ? 'info' : 'silent',
    shutdownGraceMs: 1000,
    ...options.config,
  };
  const logger = options.logs
    ? createLogger({ level: 'info', destination: new Writable({ write(chunk, _enc, cb) { options.logs!.push(...String(chunk).split('\n').filter(Boolean)); cb(); } }) as never })
    : createLogger({ level: 'silent' });
  const service = await startService({
    config,
    routes: (options.routes ?? defaultRoutes)(sim.url),
    agreement: options.agreement ?? fastAgreement(),
    logger,
    ...options.service,
  });
  return {
    url: service.url,
    sim,
    service,
    chat(body, init = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
      const key = init.key === undefined ? TEST_KEY : init.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      return fetch(`${service.url}/v1/chat/completions`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    },
    async close() {
      await service.stop(200);
      await sim.close();
    },
  };
}

/** Parses an SSE body into its `data:` payloads (JSON objects, or the string '[DONE]'). */
export async function readSse(res: Response): Promise<Array<Record<string, any> | '[DONE]'>> {
  const text = await res.text();
  const events: Array<Record<string, any> | '[DONE]'> = [];
  for (const block of text.split('\n\n')) {
    const line = block.split('\n').find((l) => l.startsWith('data: '));
    if (!line) continue;
    const data = line.slice(6);
    events.push(data === '[DONE]' ? '[DONE]' : JSON.parse(data));
  }
  return events;
}

export const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content }],
  ...extra,
});
