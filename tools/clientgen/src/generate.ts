import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractClientAgreement, renderAgreementModule } from './agreement.ts';
import { generatedHeader, loadContract } from './contract.ts';
import { listOperations, renderOperationsModule } from './operations.ts';
import { queryParameters } from './query.ts';
import { generateTypes } from './types.ts';

export interface GenerateClientOptions {
  /** Path of contracts/openapi.yaml. */
  contractPath: string;
  /** The client package folder (packages/client); files go to `<dir>/src/generated/`. */
  packageDir: string;
}

/** Writes types.ts, operations.ts, agreement.ts and sets package.json `version` to the contract's `info.version`. */
export async function generateClient(options: GenerateClientOptions): Promise<string[]> {
  const contract = loadContract(options.contractPath);
  queryParameters(contract.document); // throws on a query or cookie parameter openapi-fetch would send wrong
  const header = generatedHeader(contract.hash16);
  const outDir = join(options.packageDir, 'src', 'generated');
  mkdirSync(outDir, { recursive: true });
  const files: Record<string, string> = {
    'types.ts': `${header}\n${await generateTypes(contract)}`,
    'operations.ts': renderOperationsModule(listOperations(contract.document), header),
    'agreement.ts': renderAgreementModule(extractClientAgreement(contract.document), header),
  };
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(outDir, name);
    writeIfChanged(path, text);
    written.push(path);
  }
  syncPackageVersion(join(options.packageDir, 'package.json'), contract.document.info.version);
  return written;
}

/** Leaves mtimes alone when nothing changed (keeps tsc/Nx quiet). */
function writeIfChanged(path: string, text: string): void {
  let old: string | undefined;
  try {
    old = readFileSync(path, 'utf8');
  } catch {}
  if (old !== text) writeFileSync(path, text);
}

function syncPackageVersion(packageJsonPath: string, version: string): void {
  const text = readFileSync(packageJsonPath, 'utf8');
  const pkg = JSON.parse(text) as { version?: string };
  if (pkg.version === version) return;
  pkg.version = version;
  writeFileSync(packageJsonPath, `${JSON.stringify(pkg, null, 2)}\n`);
}
