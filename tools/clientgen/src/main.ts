// Usage: node tools/clientgen/src/main.ts [--contract contracts/openapi.yaml] [--package packages/client]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { generateClient } from './generate.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const { values } = parseArgs({
  options: {
    contract: { type: 'string', default: resolve(root, 'contracts/openapi.yaml') },
    package: { type: 'string', default: resolve(root, 'packages/client') },
  },
});
const written = await generateClient({ contractPath: resolve(values.contract), packageDir: resolve(values.package) });
for (const file of written) console.log(`clientgen: ${file}`);
