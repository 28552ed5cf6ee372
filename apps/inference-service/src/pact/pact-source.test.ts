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

it('takes the version and branch from git when not given, and refuses to publish without them', () => {
  const broker = { PACT_BROKER_BASE_URL: 'https://broker.example' };
  const git = (args: string[]) => (args.includes('--abbrev-ref') ? 'feature-y' : 'def456');
  expect(pactSource({ ...broker, PACT_PUBLISH_VERIFICATION: 'true' }, git).options).toMatchObject({ providerVersion: 'def456', providerVersionBranch: 'feature-y' });
  const noGit = () => undefined;
  expect(() => pactSource({ ...broker, PACT_PUBLISH_VERIFICATION: 'true' }, noGit)).toThrow(/needs the provider version and branch/);
  // A detached checkout has no branch to publish under.
  expect(() => pactSource({ ...broker, PACT_PUBLISH_VERIFICATION: 'true', GIT_COMMIT: 'abc' }, () => 'HEAD')).toThrow(/needs the provider version and branch/);
  // Verifying without publishing needs neither.
  expect(pactSource(broker, noGit).options.publishVerificationResult).toBe(false);
});
