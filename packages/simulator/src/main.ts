/**
 * CLI: node --conditions=source packages/simulator/src/main.ts [--port N] [--host H]
 *      [--scenario file.json] [--seed N] [--api-key K] [--admin]
 * Flags override SIM_* environment variables. Prints the URL on stdout.
 */
import { parseArgs } from 'node:util';
import { loadScenarioFile, simulatorOptionsFromEnv } from './config.ts';
import { ScenarioError } from './scenario.ts';
import { startSimulator, type SimulatorOptions } from './server.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      scenario: { type: 'string' },
      seed: { type: 'string' },
      'api-key': { type: 'string' },
      admin: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: main.ts [--port N] [--host H] [--scenario file.json] [--seed N] [--api-key K] [--admin]\n');
    return;
  }
  const options: { -readonly [K in keyof SimulatorOptions]: SimulatorOptions[K] } = simulatorOptionsFromEnv(process.env);
  if (values.port !== undefined) options.port = Number(values.port);
  if (values.host !== undefined) options.host = values.host;
  if (values.seed !== undefined) options.seed = Number(values.seed);
  if (values['api-key'] !== undefined) options.apiKey = values['api-key'];
  if (values.admin) options.admin = true;
  if (values.scenario !== undefined) options.scenario = loadScenarioFile(values.scenario);

  const simulator = await startSimulator(options);
  process.stdout.write(`${simulator.url}\n`);
  const stop = (): void => {
    void simulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ScenarioError ? error.message : String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
