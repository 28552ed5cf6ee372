import { expect, it } from 'vitest';
import { PACT_FILE } from '../../../consumer/src/pact/interactions.ts';
import { pactSource } from './pact-source.ts';

it('verifies the local pact files by default', () => {
  expect(pactSource({})).toEqual({ kind: 'files', options: { pactUrls: [PACT_FILE] } });
});

it('verifies from the broker when PACT_BROKER_BASE_URL is set, publishing only when asked', () => {
  const env = { PACT_BROKER_BASE_URL: 'https://broker.example', PACT_BROKER_TOKEN: 't', GIT_COMMIT: 'abc123', GIT_BRANCH: 'feature-x' };
  expect(pactSource(env)).toEqual({
    kind: 'broker',
    options: {
      pactBrokerUrl: 'https://broker.example',
      pactBrokerToken: 't',
      consumerVersionSelectors: [{ mainBranch: true }, { deployedOrReleased: true }, { matchingBranch: true }],
      enablePending: true,
      publishVerificationResult: false,
      providerVersion: 'abc123',
      providerVersionBranch: 'feature-x',
    },
  });
  expect(pactSource({ ...env, PACT_PUBLISH_VERIFICATION: 'true' }).options.publishVerificationResult).toBe(true);
});
