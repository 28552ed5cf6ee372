// Where provider verification takes its pacts from: the local ./pacts files (default), or a Pact
// Broker when PACT_BROKER_BASE_URL is set.
import { execFileSync } from 'node:child_process';
import type { VerifierOptions } from '@pact-foundation/pact';
import { PACT_FILE } from '../../../consumer/src/pact/interactions.ts';

export type PactSource = { kind: 'files' | 'broker'; options: Partial<VerifierOptions> };

/**
 * Broker variables: PACT_BROKER_BASE_URL, PACT_BROKER_TOKEN (or PACT_BROKER_USERNAME/PASSWORD),
 * PACT_PUBLISH_VERIFICATION=true to publish the result (CI), PROVIDER_VERSION (default GIT_COMMIT,
 * else `git rev-parse HEAD`), PROVIDER_BRANCH (default GIT_BRANCH, else the current git branch).
 * A result is published only under a real version and branch (can-i-deploy tells builds apart by
 * them): without one it throws rather than publish every build as one made-up version on main.
 */
export function pactSource(env: Readonly<Record<string, string | undefined>>, git: (args: string[]) => string | undefined = gitOutput): PactSource {
  const brokerUrl = env.PACT_BROKER_BASE_URL;
  if (!brokerUrl) return { kind: 'files', options: { pactUrls: [PACT_FILE] } };
  const publish = env.PACT_PUBLISH_VERIFICATION === 'true';
  const version = env.PROVIDER_VERSION ?? env.GIT_COMMIT ?? git(['rev-parse', 'HEAD']);
  const branch = env.PROVIDER_BRANCH ?? env.GIT_BRANCH ?? git(['rev-parse', '--abbrev-ref', 'HEAD']);
  if (publish && (version === undefined || branch === undefined || branch === 'HEAD')) {
    throw new Error('PACT_PUBLISH_VERIFICATION=true needs the provider version and branch: set PROVIDER_VERSION and PROVIDER_BRANCH (or GIT_COMMIT and GIT_BRANCH), or run in a git checkout on a branch.');
  }
  return {
    kind: 'broker',
    options: {
      pactBrokerUrl: brokerUrl,
      ...(env.PACT_BROKER_TOKEN && { pactBrokerToken: env.PACT_BROKER_TOKEN }),
      ...(env.PACT_BROKER_USERNAME && { pactBrokerUsername: env.PACT_BROKER_USERNAME, pactBrokerPassword: env.PACT_BROKER_PASSWORD ?? '' }),
      // The consumer's main branch, what is deployed or released, and the pacts of a matching branch.
      consumerVersionSelectors: [{ mainBranch: true }, { deployedOrReleased: true }, { matchingBranch: true }],
      enablePending: true,
      publishVerificationResult: publish,
      providerVersion: version ?? 'unknown-local',
      providerVersionBranch: branch ?? 'unknown-local',
    },
  };
}

function gitOutput(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}
