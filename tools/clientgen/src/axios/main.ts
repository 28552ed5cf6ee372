// Usage: node tools/clientgen/src/axios/main.ts [--contract contracts/openapi.yaml] [--package packages/client-axios]
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateAxiosClient } from './generate.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
const { values } = parseArgs({
  options: {
    contract: { type: 'string', default: resolve(root, 'contracts/openapi.yaml') },
    package: { type: 'string', default: resolve(root, 'packages/client-axios') },
  },
});
for (const file of generateAxiosClient({ contractPath: resolve(values.contract), packageDir: resolve(values.package) })) {
  console.log(`clientgen(axios): ${file}`);
}
