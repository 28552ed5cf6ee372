#!/usr/bin/env node
// The inference service's entry point: reads the environment (see config.ts),
// starts the embedded simulator when no routes file is given, and serves.
import { startSimulator, simulatorOptionsFromEnv, type Simulator } from '@llmgw/simulator';
import { agreement as contractAgreement } from '@llmgw/contract';
import { createLogger, createMetrics, flushLogs, setupTracing } from '@llmgw/observability';
import { DEV_API_KEY, effectiveAgreement, loadConfig } from './config.ts';
import { defaultRoutes } from './registry/registry.ts';
import { loadRoutesFile, type RoutesFile } from './registry/routes-file.ts';
import { startService } from './server.ts';
import { createService, type Service } from './service.ts';
import { openStores } from './stores/index.ts';
import { storeErrorReporter } from './telemetry.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.httpServer && !config.redisUrl) throw new Error('LLM_HTTP=false runs a worker for the shared job queue: set REDIS_URL too');
  const agreement = effectiveAgreement(contractAgreement, config);
  const tracing = setupTracing({ serviceName: 'llm-inference-service' });
  let simulator: Simulator | undefined;
  let routes: RoutesFile;
  let routesSource = 'routes';
  if (config.routesFile) {
    routes = loadRoutesFile(config.routesFile);
    routesSource = config.routesFile;
  } else {
    simulator = await startSimulator({ ...simulatorOptionsFromEnv(process.env), port: config.simulatorPort, host: '127.0.0.1' });
    routes = defaultRoutes(simulator.url);
  }
  const logger = createLogger({ level: config.logLevel });
  const metrics = createMetrics({
    models: [...Object.keys(agreement.models), ...Object.keys(routes.models ?? {}), 'rule-based', 'polite-fallback'],
    collectDefault: true,
  });
  const { stores, jobs } = await openStores({
    redisUrl: config.redisUrl,
    agreement,
    reportStoreError: storeErrorReporter(metrics, logger),
    onConnectionChange: (state, err) =>
      state === 'down'
        ? logger.warn({ err: { message: (err as Error | undefined)?.message } }, 'Redis connection lost; reconnecting')
        : logger.info('Redis connection restored'),
  });
  const options = { config, routes, routesSource, agreement, tracing: tracing.enabled, logger, metrics, stores, jobs };
  const upstream = simulator ? `embedded simulator at ${simulator.url}` : `routes file ${config.routesFile}`;
  // LLM_HTTP=false: a worker-only process (async jobs from the shared queue, no socket).
  const service = config.httpServer ? await startService(options) : workerOnly(createService(options));
  const log = service.logger;
  log.info(
    {
      url: service.url,
      models: service.registry.list().map((r) => r.name),
      upstream,
      store: service.stores.kind,
      worker: config.runWorker,
      tracing: tracing.reason,
    },
    config.httpServer ? 'inference service listening' : 'inference worker running (no HTTP)',
  );
  if (config.usingDevKey && config.httpServer) log.warn(`LLM_API_KEYS is not set: only the development key '${DEV_API_KEY}' is accepted`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inflight: service.inflight() }, 'shutting down: finishing in-flight requests');
    await service.stop();
    await simulator?.close();
    await tracing.shutdown();
    log.info('stopped');
    await flushLogs(log);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function workerOnly(service: Service) {
  return { ...service, url: undefined, stop: (graceMs?: number) => service.close(graceMs) };
}

main().catch((err: unknown) => {
  // Start-up errors (bad routes file, bad environment) stop the process with their message.
  process.stderr.write(`inference-service: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
