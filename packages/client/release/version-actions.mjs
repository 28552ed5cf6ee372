// nx release version actions for @llmgw/client: the version is the contract's `info.version`
// (contracts/openapi.yaml), never a bump chosen by hand — the client is generated from that
// contract, and tools/clientgen writes the same version into package.json.
// Plain ESM JavaScript because Nx loads it with require(). Nx's default JS implementation lives
// in @nx/js, which has no release matching nx 24.
import { VersionActions } from 'nx/release';
import { parse } from 'yaml';

export const CONTRACT_PATH = 'contracts/openapi.yaml';

/** The contract's `info.version`, read through the Nx tree (paths relative to the workspace root). */
export function contractVersion(tree) {
  const text = tree.read(CONTRACT_PATH, 'utf-8');
  if (!text) throw new Error(`${CONTRACT_PATH} is missing: the client's version comes from its info.version`);
  const version = parse(text)?.info?.version;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new Error(`${CONTRACT_PATH}: info.version must be a semver version, got ${JSON.stringify(version)}`);
  }
  return version;
}

export default class ContractVersionActions extends VersionActions {
  validManifestFilenames = ['package.json'];
  #tree;

  async init(tree) {
    this.#tree = tree;
    await super.init(tree);
  }

  /** Any specifier (`nx release contract`, a bump word, the version itself) resolves to the contract's version. */
  async calculateNewVersion(currentVersion, newVersionInput) {
    const version = contractVersion(this.#tree);
    return {
      newVersion: version,
      logText: `Version ${version} from ${CONTRACT_PATH} info.version (current ${currentVersion ?? 'unknown'}; "${newVersionInput}" is ignored: the contract decides)`,
    };
  }

  async readCurrentVersionFromSourceManifest(tree) {
    const manifestPath = `${this.projectGraphNode.data.root}/package.json`;
    const json = JSON.parse(tree.read(manifestPath, 'utf-8'));
    return { currentVersion: json.version, manifestPath };
  }

  async readCurrentVersionFromRegistry() {
    return null;
  }

  async readCurrentVersionOfDependency() {
    return { currentVersion: null, dependencyCollection: null };
  }

  async updateProjectVersion(tree, newVersion) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const json = JSON.parse(tree.read(manifestPath, 'utf-8'));
      if (json.version === newVersion) continue;
      json.version = newVersion;
      tree.write(manifestPath, `${JSON.stringify(json, null, 2)}\n`);
      logs.push(`✍️  New version ${newVersion} written to manifest: ${manifestPath}`);
    }
    return logs;
  }

  async updateProjectDependencies() {
    return [];
  }
}
