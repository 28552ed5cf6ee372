// Usage: node tools/contract-check/src/cli.ts lint|breaking|check [--contract contracts/openapi.yaml] [--base contracts/baseline/openapi.yaml]
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkBreaking } from './breaking.ts';
import { lintContract } from './lint.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    contract: { type: 'string', default: resolve(root, 'contracts/openapi.yaml') },
    base: { type: 'string', default: resolve(root, 'contracts/baseline/openapi.yaml') },
  },
});
const command = positionals[0] ?? 'check';
let failed = false;
if (command === 'lint' || command === 'check') {
  const lint = lintContract(values.contract);
  console.log(lint.output.trim());
  console.log(`contract:lint ${lint.ok ? 'passed' : 'FAILED'}`);
  failed ||= !lint.ok;
}
if (command === 'breaking' || command === 'check') {
  const report = checkBreaking(values.base, values.contract);
  console.log(report.summary);
  console.log(`contract:breaking ${report.ok ? 'passed' : 'FAILED'}`);
  failed ||= !report.ok;
}
if (!['lint', 'breaking', 'check'].includes(command)) {
  console.error(`unknown command ${command}: use lint, breaking or check`);
  failed = true;
}
process.exitCode = failed ? 1 : 0;
