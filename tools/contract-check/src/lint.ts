import { CONFIG_PATH, redocly } from './redocly.ts';

export interface LintResult {
  ok: boolean;
  output: string;
}

/** `redocly lint` with tools/contract-check/redocly.yaml; errors fail, warnings are printed. */
export function lintContract(contractPath: string, configPath: string = CONFIG_PATH): LintResult {
  const run = redocly(['lint', contractPath, '--config', configPath, '--format', 'stylish']);
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}
