// Test support: service instances that share one Redis, assembled as main.ts
// does (metrics and logger first, then openStores with REDIS_URL, then the
// service), in front of one simulator.
import type { Agreement } from '@llmgw/contract';
import { createLogger, createMetrics } from '@llmgw/observability';
import { Writable } from 'node:stream';
import { loadConfig, type ServiceConfig } from '../config.ts';
import { defaultRoutes } from '../registry/registry.ts';
import { startService, type RunningService } from '../server.ts';
import { openStores, type OpenStoresOptions } from '../stores/index.ts';
import { TEST_KEY } from '../testing/stack.ts';
import { storeErrorReporter } from '../telemetry.ts';

export interface InstanceOptions {
  redisUrl: string;
  simulatorUrl: string;
  agreement: Agreement;
  config?: Partial<ServiceConfig>;
  /** Worker timing etc. (short stalled checks in tests). */
  redis?: OpenStoresOptions['redis'];
  /** Collect log lines (JSON strings) here. */
  logs?: string[];
}

export interface Instance {
  url: string;
  service: RunningService;
  chat(body: unknown, headers?: Record<string, string>): Promise<Response>;
  job(id: string): Promise<{ status: number; body: Record<string, any> }>;
  /** The value of `llm_shared_store_errors_total{store}` on this instance's /metrics. */
  storeErrors(store: string): Promise<number>;
  stop(): Promise<void>;
}

/** Fast reconnects (tests stop and restart Redis); a generous command timeout, so a busy test machine does not fail requests open. A stopped Redis fails at once anyway (no offline queue). */
export const TEST_REDIS_CLIENT = { commandTimeoutMs: 2000, connectTimeoutMs: 300, maxReconnectDelayMs: 100 };

export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const config: ServiceConfig = {
    ...loadConfig({ LLM_API_KEYS: `${TEST_KEY}=team-a`, REDIS_URL: options.redisUrl }, []),
    port: 0,
    validateResponses: true,
    logLevel: options.logs ? 'info' : 'silent',
    shutdownGraceMs: 500,
    ...options.config,
  };
  const logger = options.logs
    ? createLogger({ level: 'info', destination: new Writable({ write(chunk, _enc, cb) { options.logs!.push(...String(chunk).split('\n').filter(Boolean)); cb(); } }) as never })
    : createLogger({ level: 'silent' });
  const metrics = createMetrics({ models: [...Object.keys(options.agreement.models), 'rule-based', 'polite-fallback'] });
  const { stores, jobs } = await openStores({
    redisUrl: config.redisUrl,
    agreement: options.agreement,
    reportStoreError: storeErrorReporter(metrics, logger),
    redis: { ...options.redis, client: { ...TEST_REDIS_CLIENT, ...options.redis?.client } },
  });
  const service = await startService({
    config,
    routes: defaultRoutes(options.simulatorUrl),
    agreement: options.agreement,
    logger,
    metrics,
    stores,
    jobs,
  });
  return {
    url: service.url,
    service,
    chat(body, headers = {}) {
      return fetch(`${service.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_KEY}`, ...headers },
        body: JSON.stringify(body),
      });
    },
    async job(id) {
      const res = await fetch(`${service.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async storeErrors(store) {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`llm_shared_store_errors_total{store="${store}"}`));
      return line ? Number(line.split(' ').pop()) : 0;
    },
    stop: () => service.stop(200),
  };
}

/** Polls `fn` until `ok` holds (or `timeoutMs` passes) and returns the last value. */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
