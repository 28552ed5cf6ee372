// Provider verification: the consumer's pact replayed on the REAL service (over HTTP, in front of
// the simulator), with the provider states it names. Runs after the consumer tests (vitest project
// group 1, see the root vitest.config.ts; Nx: `pact:provider` dependsOn `pact:consumer`).
// With PACT_BROKER_BASE_URL set, the pacts come from the broker instead of ./pacts, and the result
// is published back when PACT_PUBLISH_VERIFICATION=true (CI).
import { Verifier, type VerifierOptions } from '@pact-foundation/pact';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PACT_FILE, PROVIDER } from '../../../consumer/src/pact/interactions.ts';
import { startPactProvider, type PactProvider } from './provider-states.ts';
import { pactSource } from './pact-source.ts';

process.env.PACT_DO_NOT_TRACK = 'true';
let provider: PactProvider;
beforeAll(async () => {
  provider = await startPactProvider();
});
afterAll(() => provider?.close());

it('the real service honours every interaction of the consumer pacts', { timeout: 60_000 }, async () => {
  const source = pactSource(process.env);
  if (source.kind === 'files') {
    expect(existsSync(PACT_FILE), `${PACT_FILE} is missing: the consumer tests (apps/consumer/src/pact) write it; run them first (nx run @llmgw/inference-service:pact:provider does)`).toBe(true);
  }
  const options: VerifierOptions = {
    provider: PROVIDER,
    providerBaseUrl: provider.stack.url,
    stateHandlers: provider.stateHandlers,
    logLevel: 'warn',
    ...source.options,
  };
  await expect(new Verifier(options).verifyProvider()).resolves.toBeDefined();
});
