#!/usr/bin/env node
// The inference service as `npm start` runs it (apps/inference-service/src/main.ts),
// with one difference: the contract's rate limits and token budget are raised so a
// load test measures the service, not its 429s. The service has no setting for
// these (they come from the contract's x-llm-agreement only), hence this launcher.
// Everything else is on as a user runs it: routes file, key auth, request
// validation, rate limiting, token budget, metrics, tracing API calls, info logs.
import { agreement as contractAgreement, type Agreement } from '@llmgw/contract';
import { createLogger, createMetrics, setupTracing } from '@llmgw/observability';
import { loadConfig } from '../apps/inference-service/src/config.ts';
import { loadRoutesFile } from '../apps/inference-service/src/registry/routes-file.ts';
import { startService } from '../apps/inference-service/src/server.ts';
import { openStores } from '../apps/inference-service/src/stores/index.ts';
import { storeErrorReporter } from '../apps/inference-service/src/telemetry.ts';

/** High enough that no bench run (minutes, ~10^4 requests/s) is throttled. */
const BENCH_REQUESTS_PER_MINUTE = 1e9;
const BENCH_TOKENS_PER_MINUTE = 1e12;
const BENCH_TOKENS_PER_WINDOW = 1e15;

function benchAgreement(): Agreement {
  const a = structuredClone(contractAgreement) as unknown as {
    rateLimits: { requestsPerMinute: number; tokensPerMinute: number };
    tokenBudget: { tokensPerWindow: number };
  };
  a.rateLimits.requestsPerMinute = BENCH_REQUESTS_PER_MINUTE;
  a.rateLimits.tokensPerMinute = BENCH_TOKENS_PER_MINUTE;
  a.tokenBudget.tokensPerWindow = BENCH_TOKENS_PER_WINDOW;
  return a as unknown as Agreement;
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.routesFile) throw new Error('the bench service needs a routes file (--routes or LLM_ROUTES_FILE)');
  const agreement = benchAgreement();
  const tracing = setupTracing({ serviceName: 'llm-inference-service' });
  const routes = loadRoutesFile(config.routesFile);
  const logger = createLogger({ level: config.logLevel });
  const metrics = createMetrics({
    models: [...Object.keys(agreement.models), ...Object.keys(routes.models ?? {}), 'rule-based', 'polite-fallback'],
    collectDefault: true,
  });
  const { stores, jobs } = await openStores({ redisUrl: config.redisUrl, agreement, reportStoreError: storeErrorReporter(metrics, logger) });
  const service = await startService({ config, routes, routesSource: config.routesFile, agreement, tracing: tracing.enabled, logger, metrics, stores, jobs });
  // The runner reads the URL from the first line of stderr (stdout carries the logs).
  process.stderr.write(`${service.url}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await service.stop(1000);
    await tracing.shutdown();
    process.exit(0); // lets --cpu-prof write its profile
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`bench service: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
