// Where provider verification takes its pacts from: the local ./pacts files (default), or a Pact
// Broker when PACT_BROKER_BASE_URL is set.
import type { VerifierOptions } from '@pact-foundation/pact';
import { PACT_FILE } from '../../../consumer/src/pact/interactions.ts';

export type PactSource = { kind: 'files' | 'broker'; options: Partial<VerifierOptions> };

/**
 * Broker variables: PACT_BROKER_BASE_URL, PACT_BROKER_TOKEN (or PACT_BROKER_USERNAME/PASSWORD),
 * PACT_PUBLISH_VERIFICATION=true to publish the result (CI), PROVIDER_VERSION (default GIT_COMMIT,
 * else the contract version), PROVIDER_BRANCH (default GIT_BRANCH or main).
 */
export function pactSource(env: Readonly<Record<string, string | undefined>>, providerVersion = '0.0.0-local'): PactSource {
  const brokerUrl = env.PACT_BROKER_BASE_URL;
  if (!brokerUrl) return { kind: 'files', options: { pactUrls: [PACT_FILE] } };
  const branch = env.PROVIDER_BRANCH ?? env.GIT_BRANCH ?? 'main';
  return {
    kind: 'broker',
    options: {
      pactBrokerUrl: brokerUrl,
      ...(env.PACT_BROKER_TOKEN && { pactBrokerToken: env.PACT_BROKER_TOKEN }),
      ...(env.PACT_BROKER_USERNAME && { pactBrokerUsername: env.PACT_BROKER_USERNAME, pactBrokerPassword: env.PACT_BROKER_PASSWORD ?? '' }),
      // The consumer's main branch, what is deployed or released, and the pacts of a matching branch.
      consumerVersionSelectors: [{ mainBranch: true }, { deployedOrReleased: true }, { matchingBranch: true }],
      enablePending: true,
      publishVerificationResult: env.PACT_PUBLISH_VERIFICATION === 'true',
      providerVersion: env.PROVIDER_VERSION ?? env.GIT_COMMIT ?? providerVersion,
      providerVersionBranch: branch,
    },
  };
}
