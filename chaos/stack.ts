/**
 * One chain per scenario and mode: the simulator and the real inference
 * service in this process, on 127.0.0.1 port 0. Resilience ON = the
 * contract's retries, breaker and fallback chains with short, realistic
 * timings; OFF = one attempt, no fallback chain, a breaker that never opens.
 */
import { agreement as contractAgreement, type Agreement } from '@llmgw/contract';
import { createLogger } from '@llmgw/observability';
import { startSimulator, type Scenario, type Simulator } from '@llmgw/simulator';
import { loadConfig, type ServiceConfig } from '../apps/inference-service/src/config.ts';
import { defaultRoutes } from '../apps/inference-service/src/registry/registry.ts';
import type { RoutesFile } from '../apps/inference-service/src/registry/routes-file.ts';
import { startService, type RunningService } from '../apps/inference-service/src/server.ts';
import { memoryStores } from '../apps/inference-service/src/stores/memory/index.ts';
import { memoryTokenUsage } from '../apps/inference-service/src/stores/memory/token-usage.ts';

/**
 * Token-usage bucket width for the runaway scenario. The service's default
 * in-memory store counts tokens in 60 s buckets whatever the configured
 * windows, so second-long recent/baseline windows read the same bucket and
 * the guard can never trip (reported in README.md); the chaos run injects a
 * finer store through the service's public `stores` option.
 */
export const RUNAWAY_BUCKET_MS = 100;

export const KEY_A = 'sk-chaos-a';
export const KEY_B = 'sk-chaos-b';

/** The SLA timeout every model gets in the chaos agreement (the service's whole deadline per request). */
export const SLA_TOTAL_MS = 3000;
export const FIRST_TOKEN_MS = 800;
export const STREAM_IDLE_MS = 800;
export const HALF_OPEN_AFTER_MS = 2000;

export type Mode = 'on' | 'off';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** Runaway guard with windows short enough to trip within a scenario. */
export interface RunawayTerms {
  tokensPerWindow: number;
  windowMs: number;
  factor: number;
  recentWindowMs: number;
  baselineWindowMs: number;
  minTokens: number;
}

const NO_LIMIT = 1_000_000_000;

export function chaosAgreement(mode: Mode, runaway?: RunawayTerms): Agreement {
  const a = structuredClone(contractAgreement) as unknown as Mutable<Agreement>;
  const d = a.defaults;
  d.timeouts = { connectMs: 500, firstTokenMs: FIRST_TOKEN_MS, streamIdleMs: STREAM_IDLE_MS, totalMs: SLA_TOTAL_MS };
  d.retry.initialDelayMs = 50;
  d.retry.maxDelayMs = 400;
  d.retry.maxRetryAfterMs = 2000;
  d.slo.p99LatencyMs = SLA_TOTAL_MS;
  d.circuitBreaker.halfOpenAfterMs = HALF_OPEN_AFTER_MS;
  a.fallback.async.backoffMs = 50;
  a.rateLimits = { requestsPerMinute: NO_LIMIT, tokensPerMinute: NO_LIMIT };
  a.tokenBudget = {
    tokensPerWindow: NO_LIMIT,
    windowMs: 60_000,
    runaway: { factor: NO_LIMIT, recentWindowMs: 1000, baselineWindowMs: 1000, minTokens: NO_LIMIT },
  };
  for (const m of Object.values(a.models)) {
    m.timeouts = { totalMs: SLA_TOTAL_MS, firstTokenMs: FIRST_TOKEN_MS };
    m.slo = { p99LatencyMs: SLA_TOTAL_MS };
    if (m.circuitBreaker) m.circuitBreaker = { ...m.circuitBreaker, halfOpenAfterMs: HALF_OPEN_AFTER_MS };
  }
  if (mode === 'off') {
    d.retry.maxAttempts = 1;
    d.circuitBreaker = { ...d.circuitBreaker, consecutiveFailures: NO_LIMIT, failureRatio: 1, minThroughput: NO_LIMIT };
    for (const m of Object.values(a.models)) {
      m.retry = { maxAttempts: 1 };
      m.circuitBreaker = { consecutiveFailures: NO_LIMIT };
    }
  }
  // The runaway guard is a protection like the others: on in ON, off in the baseline.
  if (runaway && mode === 'on') {
    const { tokensPerWindow, windowMs, ...guard } = runaway;
    a.tokenBudget = { tokensPerWindow, windowMs, runaway: guard };
  }
  return a as unknown as Agreement;
}

/**
 * The routes: every agreement model on the simulator. `fallbackJsonSchema`
 * (default true) declares that the upstream serving the non-native model
 * (llama-3.2-70b, `jsonSchema: false` in the contract) understands
 * `json_schema`, as the simulator does: otherwise the service asks it in
 * `json_object` mode with the schema in the prompt, which the simulator
 * cannot read, so its structured answers never validate (see README).
 * OFF: every model with an empty fallback chain.
 */
export function chaosRoutes(mode: Mode, simulatorUrl: string, fallbackJsonSchema = true): RoutesFile {
  const routes = defaultRoutes(simulatorUrl);
  const models: NonNullable<RoutesFile['models']> = {};
  for (const [name, terms] of Object.entries(contractAgreement.models)) {
    const config: NonNullable<RoutesFile['models']>[string] = { upstream: 'simulator' };
    if (fallbackJsonSchema && !terms.capabilities.jsonSchema) config.capabilities = { jsonSchema: true };
    if (mode === 'off') config.fallback = [];
    if (Object.keys(config).length > 1) models[name] = config;
  }
  return { ...routes, models };
}

export interface Chain {
  sim: Simulator;
  service: RunningService;
  url: string;
  close(): Promise<void>;
}

export async function startChain(mode: Mode, scenario: Scenario, runaway?: RunawayTerms, fallbackJsonSchema = true): Promise<Chain> {
  const sim = await startSimulator({ port: 0, host: '127.0.0.1', scenario });
  const config: ServiceConfig = {
    ...loadConfig({ LLM_API_KEYS: `${KEY_A}=team-a,${KEY_B}=team-b` }, []),
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    shutdownGraceMs: 500,
  };
  const agreement = chaosAgreement(mode, runaway);
  const stores = runaway
    ? {
        ...memoryStores({
          requestsPerMinute: agreement.rateLimits.requestsPerMinute,
          tokensPerMinute: agreement.rateLimits.tokensPerMinute,
          cacheMaxEntries: agreement.fallback.cache.maxEntries,
        }),
        tokenUsage: memoryTokenUsage({ bucketMs: RUNAWAY_BUCKET_MS }),
      }
    : undefined;
  const service = await startService({
    config,
    ...(stores && { stores }),
    routes: chaosRoutes(mode, sim.url, fallbackJsonSchema),
    agreement,
    logger: createLogger({ level: 'silent' }),
  });
  return {
    sim,
    service,
    url: service.url,
    async close() {
      await service.stop(300);
      await sim.close();
    },
  };
}
