// The provider side of the Pact contract: the real service over HTTP in front of the simulator,
// and the provider states the consumer's interactions name (keys, limits, simulator scenarios,
// a finished job). Test support only.
import type { VerifierOptions } from '@pact-foundation/pact';
import type { Scenario } from '@llmgw/simulator';
import { ANSWER_SCHEMA, SYSTEM_PROMPT } from '../../../consumer/src/assistant.ts';
import { PACT_KEY_IDS, PACT_KEYS, QUESTIONS, RESPONSE_FORMAT, STATES } from '../../../consumer/src/pact/interactions.ts';
import { parseApiKeys } from '../middleware/auth/keys.ts';
import { fastAgreement, startStack, type Stack } from '../testing/stack.ts';

export type StateHandlers = NonNullable<VerifierOptions['stateHandlers']>;

/** How long a state handler waits for the worker to finish a pre-created job. */
export const JOB_READY_TIMEOUT_MS = 5_000;

export interface PactProvider {
  stack: Stack;
  stateHandlers: StateHandlers;
  close(): Promise<void>;
}

const outage = (model: string, extra: Record<string, unknown> = {}) => ({ model, kind: 'outage' as const, ...extra });

/** The request the assistant makes, as it makes it (for states that need the service to have seen it before). */
function assistantRequest(question: string, model = 'gpt-4o-mini') {
  return {
    model,
    messages: [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: question },
    ],
    response_format: { ...RESPONSE_FORMAT, json_schema: { ...RESPONSE_FORMAT.json_schema, schema: ANSWER_SCHEMA } },
  };
}

export async function startPactProvider(): Promise<PactProvider> {
  const stack = await startStack({
    // Interactions verify wire shapes, one after another: keep the service's breakers from carrying
    // one state's outage into the next interaction.
    agreement: fastAgreement((a) => {
      a.defaults.circuitBreaker.consecutiveFailures = 1_000_000;
      a.defaults.circuitBreaker.minThroughput = 1_000_000;
    }),
    config: { apiKeys: parseApiKeys(`${PACT_KEYS.consumer}=${PACT_KEY_IDS.consumer},${PACT_KEYS.limited}=${PACT_KEY_IDS.limited}`) },
  });
  const scenario = (rules: Scenario['rules']) => stack.sim.setScenario({ rules });

  const stateHandlers: StateHandlers = {
    [STATES.normal]: async () => {
      scenario([]);
    },
    [STATES.rateLimited]: async () => {
      scenario([]);
      const limit = (await stack.service.stores.requestLimiter.peek(PACT_KEY_IDS.limited)).limit;
      // The whole window (a take over the limit is refused, and costs nothing).
      await stack.service.stores.requestLimiter.consume(PACT_KEY_IDS.limited, limit);
    },
    [STATES.llamaDown]: async () => {
      scenario([outage('llama-3.2-70b', { retry_after_s: 1 })]);
    },
    [STATES.gpt4oDown]: async () => {
      scenario([outage('gpt-4o')]);
    },
    [STATES.allDownCached]: async (params) => {
      const question = (params as { question?: string } | undefined)?.question ?? QUESTIONS.cached;
      scenario([]);
      // Pact sends the body with its keys sorted, and the service's cache key hashes the schema
      // as sent (key order included): prime the cache with the same bytes the verifier will send.
      const res = await stack.chat(sortKeys(assistantRequest(question)), { key: PACT_KEYS.consumer });
      if (res.status !== 200) throw new Error(`state '${STATES.allDownCached}': priming the cache answered ${res.status}`);
      await res.body?.cancel();
      scenario([outage('*')]);
    },
    [STATES.allDown]: async () => {
      scenario([outage('*')]);
    },
    [STATES.jobSucceeded]: async () => {
      scenario([]);
      // A job as the async fallback would enqueue it; the service's own worker runs it.
      const job = await stack.service.jobs.enqueue({ body: assistantRequest(QUESTIONS.deferred) as never, keyId: PACT_KEY_IDS.consumer, requestId: 'pact-job' });
      const deadline = Date.now() + JOB_READY_TIMEOUT_MS;
      for (;;) {
        const current = await stack.service.jobs.get(job.id);
        if (current?.state === 'succeeded') return { jobId: job.id };
        if (current?.state === 'failed' || Date.now() > deadline) throw new Error(`state '${STATES.jobSucceeded}': job ${job.id} is ${current?.state ?? 'gone'}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  return { stack, stateHandlers, close: () => stack.close() };
}

/** The same JSON value with object keys sorted (as Pact writes request bodies). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
}
