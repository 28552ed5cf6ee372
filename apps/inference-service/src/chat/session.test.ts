import { GatewayError } from '@llmgw/resilience';
import { describe, expect, it } from 'vitest';
import { createUpstreamGuards } from '../policies/upstream-guards.ts';
import { callerTooSlowError } from '../upstream/http.ts';
import type { Provider, UpstreamStream, UpstreamStreamEvent } from '../upstream/types.ts';
import type { AttemptContext } from './attempts.ts';
import type { Candidate } from './candidates.ts';
import { streamAnswer, type SessionDeps } from './session.ts';
import type { ChatTelemetry } from './telemetry.ts';

const settings = {
  retry: { initialDelayMs: 1, multiplier: 2, maxDelayMs: 1, jitter: 'none' as const, maxRetryAfterMs: 5000, budgetRatio: 1, budgetMinPerSecond: 100 },
  circuitBreaker: { consecutiveFailures: 1, failureRatio: 0.5, windowMs: 10_000, minThroughput: 100, halfOpenAfterMs: 60_000, halfOpenMaxProbes: 1 },
  bulkhead: { maxConcurrent: 10, maxQueue: 0 },
};

/** An upstream whose stream yields `events`, then throws `error`; counts its calls. */
function provider(name: string, events: UpstreamStreamEvent[], error?: GatewayError): Provider & { calls: number } {
  const p = {
    kind: 'openai' as const,
    name,
    calls: 0,
    complete: () => Promise.reject(new Error('not used')),
    async stream(): Promise<UpstreamStream> {
      p.calls++;
      return {
        id: 'x',
        model: name,
        cancel() {},
        async *[Symbol.asyncIterator]() {
          yield* events;
          if (error) throw error;
        },
      };
    },
  };
  return p;
}

const candidate = (name: string, p: Provider): Candidate => ({
  name,
  requested: name,
  upstreamModel: name,
  provider: p,
  timeouts: { connectMs: 1000, firstTokenMs: 1000, streamIdleMs: 1000, totalMs: 5000 },
  capabilities: { jsonSchema: true, continuation: true },
  contextWindow: 128_000,
  retry: { maxAttempts: 3 },
});

// Every telemetry call is a no-op; the test reads the attempts' outcomes and the breakers.
const telemetry = new Proxy({}, { get: () => () => undefined }) as ChatTelemetry;

describe('streamAnswer', () => {
  it('hands a caller that read too slowly its error as it is: no continuation elsewhere, nothing against the model', async () => {
    const guards = createUpstreamGuards({ settings, events: { onBreakerTransition: () => {} } });
    const primary = provider('primary', [{ type: 'delta', content: 'partial ' }], callerTooSlowError('Upstream "primary"', 5000));
    const spare = provider('spare', [{ type: 'delta', content: 'rest' }, { type: 'finish', finishReason: 'stop' }]);
    const deps: SessionDeps = { guardFor: (c) => guards.guardFor(c), structured: undefined as never, maxRepairs: 0, streamUpstream: true };
    const ctx: AttemptContext = { signal: new AbortController().signal, deadline: Date.now() + 60_000, telemetry, now: Date.now, sleep: async () => {}, spentTokens: 0 };
    const seen: string[] = [];
    const run = (async () => {
      for await (const event of streamAnswer(deps, { candidates: [candidate('primary', primary), candidate('spare', spare)], request: { messages: [{ role: 'user', content: 'hi' }] }, output: { kind: 'text' } }, ctx)) {
        if (event.type === 'delta') seen.push(event.content);
      }
    })();
    await expect(run).rejects.toMatchObject({ kind: 'timeout_deadline', retryable: false, message: expect.stringMatching(/read more slowly than it was written/) });
    expect(seen).toEqual(['partial ']);
    expect(spare.calls).toBe(0);
    // One consecutive failure opens these breakers: the primary's stayed closed.
    expect(guards.states()).toContainEqual({ candidate: 'primary', state: 'closed' });
  });
});
