import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { generatedHeader, loadContract } from '../contract.ts';
import { queryParameters } from '../query.ts';
import { downConvert } from './down-convert.ts';
import { repeatArrayQueryKeys } from './query-arrays.ts';

export interface GenerateAxiosOptions {
  contractPath: string;
  /** packages/client-axios: holds openapitools.json; output goes to src/generated, the 3.0 rendering to contract/. */
  packageDir: string;
}

interface OpenApiToolsConfig {
  'generator-cli': { version: string; storageDir?: string; generators?: Record<string, { generatorName: string; additionalProperties?: Record<string, string | boolean> }> };
}

/** The JAR shipped inside @openapitools/openapi-generator-cli 1.0.18-5.0.0-beta2 (the only one on npm). */
const BUNDLED_JAR_VERSION = '5.0.0-beta2';

/**
 * Picks the JAR from openapitools.json: `<storageDir>/<version>.jar` when present (a newer JAR is a
 * config change), else the JAR bundled in the npm package if the pinned version is the bundled one.
 */
export function resolveJar(packageDir: string, config: OpenApiToolsConfig): string {
  const { version, storageDir } = config['generator-cli'];
  if (storageDir) {
    const candidate = resolve(packageDir, storageDir, `${version}.jar`);
    if (existsSync(candidate)) return candidate;
  }
  if (version !== BUNDLED_JAR_VERSION) {
    throw new Error(`openapitools.json pins generator ${version}: put ${version}.jar in ${storageDir ?? '<storageDir>'} (only ${BUNDLED_JAR_VERSION} is bundled on npm)`);
  }
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@openapitools/openapi-generator-cli/package.json')), 'bin', 'openapi-generator.jar');
}

export function generateAxiosClient(options: GenerateAxiosOptions): string[] {
  const contract = loadContract(options.contractPath);
  // Throws on a query or cookie parameter the clients would send differently from how the stubs read it.
  const arrayQuery = queryParameters(contract.document).some((p) => p.array);
  const header = generatedHeader(contract.hash16);
  const config = JSON.parse(readFileSync(join(options.packageDir, 'openapitools.json'), 'utf8')) as OpenApiToolsConfig;
  const generator = config['generator-cli'].generators?.['client-axios'];
  if (!generator) throw new Error('openapitools.json: generator-cli.generators.client-axios is missing');

  const contractDir = join(options.packageDir, 'contract');
  mkdirSync(contractDir, { recursive: true });
  const spec30 = join(contractDir, 'openapi-3.0.yaml');
  const rendered = downConvert(contract.document as unknown as Record<string, unknown>);
  writeFileSync(spec30, `${header.replace(/^\/\//, '#')}\n${stringify(rendered, { lineWidth: 0, aliasDuplicateObjects: false })}`);

  const outDir = join(options.packageDir, 'src', 'generated');
  rmSync(outDir, { recursive: true, force: true });
  const props = Object.entries(generator.additionalProperties ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  const args = ['-jar', resolveJar(options.packageDir, config), 'generate', '-g', generator.generatorName, '-i', spec30, '-o', outDir];
  if (props) args.push(`--additional-properties=${props}`);
  const run = spawnSync('java', args, { encoding: 'utf8', env: { ...process.env, JAVA_OPTS: '' } });
  if (run.status !== 0) throw new Error(`openapi-generator failed (${run.status}):\n${run.stdout}\n${run.stderr}`);

  // Keep only the TypeScript sources; stamp each with the provenance header.
  const kept: string[] = [];
  for (const file of listFiles(outDir)) {
    if (!file.endsWith('.ts')) {
      rmSync(file);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, `${header}\n${arrayQuery && file.endsWith('/api.ts') ? repeatArrayQueryKeys(text) : text}`);
    kept.push(relative(options.packageDir, file));
  }
  for (const dir of ['.openapi-generator']) rmSync(join(outDir, dir), { recursive: true, force: true });
  return kept.sort();
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}
