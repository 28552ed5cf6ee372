#!/usr/bin/env node
// The inference service's entry point: reads the environment (see config.ts),
// starts the embedded simulator when no routes file is given, and serves.
import { startSimulator, simulatorOptionsFromEnv, type Simulator } from '@llmgw/simulator';
import { agreement as contractAgreement } from '@llmgw/contract';
import { createLogger, createMetrics, setupTracing } from '@llmgw/observability';
import { DEV_API_KEY, effectiveAgreement, loadConfig } from './config.ts';
import { defaultRoutes } from './registry/registry.ts';
import { loadRoutesFile, type RoutesFile } from './registry/routes-file.ts';
import { startService } from './server.ts';
import { openStores } from './stores/index.ts';
import { storeErrorReporter } from './telemetry.ts';

async function main(): Promise<void> {
  const config = loadConfig();
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
  const { stores, jobs } = await openStores({ redisUrl: config.redisUrl, agreement, reportStoreError: storeErrorReporter(metrics, logger) });
  const service = await startService({ config, routes, routesSource, agreement, tracing: tracing.enabled, logger, metrics, stores, jobs });
  const log = service.logger;
  log.info(
    {
      url: service.url,
      models: service.registry.list().map((r) => r.name),
      upstream: simulator ? `embedded simulator at ${simulator.url}` : `routes file ${config.routesFile}`,
      store: service.stores.kind,
      tracing: tracing.reason,
    },
    'inference service listening',
  );
  if (config.usingDevKey) log.warn(`LLM_API_KEYS is not set: only the development key '${DEV_API_KEY}' is accepted`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inflight: service.inflight() }, 'shutting down: finishing in-flight requests');
    await service.stop();
    await simulator?.close();
    await tracing.shutdown();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Start-up errors (bad routes file, bad environment) stop the process with their message.
  process.stderr.write(`inference-service: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
