/**
 * Simulator options from the environment (SIM_*), for the CLI and for apps
 * that embed the simulator. startSimulator() itself never reads the
 * environment, so tests are not affected by a stray variable.
 */
import { readFileSync } from 'node:fs';
import { parseScenarioJson, ScenarioError, type Scenario } from './scenario.ts';
import type { SimulatorOptions } from './server.ts';

/** Read and validate a scenario JSON file. */
export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ScenarioError([`scenario file ${path}: ${(error as Error).message}`]);
  }
  return parseScenarioJson(text, `scenario file ${path}`);
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`${name}: expected an integer, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * SIM_PORT, SIM_HOST, SIM_SEED, SIM_API_KEY, SIM_ADMIN=1, and the scenario from
 * SIM_SCENARIO (JSON text) or SIM_SCENARIO_FILE (a path); SIM_SCENARIO wins.
 */
export function simulatorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SimulatorOptions {
  const options: { -readonly [K in keyof SimulatorOptions]: SimulatorOptions[K] } = {};
  const port = integer(env['SIM_PORT'], 'SIM_PORT');
  if (port !== undefined) options.port = port;
  if (env['SIM_HOST']) options.host = env['SIM_HOST'];
  const seed = integer(env['SIM_SEED'], 'SIM_SEED');
  if (seed !== undefined) options.seed = seed;
  if (env['SIM_API_KEY']) options.apiKey = env['SIM_API_KEY'];
  if (env['SIM_ADMIN'] === '1' || env['SIM_ADMIN'] === 'true') options.admin = true;
  if (env['SIM_SCENARIO']) options.scenario = parseScenarioJson(env['SIM_SCENARIO'], 'SIM_SCENARIO');
  else if (env['SIM_SCENARIO_FILE']) options.scenario = loadScenarioFile(env['SIM_SCENARIO_FILE']);
  return options;
}
