/**
 * Per-call overhead of the recommended pipeline on the success path.
 * Run: node --conditions=source packages/resilience/src/overhead.bench.ts
 * (from /work/main, with Node 24). Not part of the test run.
 */
import { Bulkhead } from './bulkhead.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { wrap } from './policy.ts';
import { RetryBudget } from './retry-budget.ts';
import { RetryPolicy } from './retry.ts';
import { TimeoutPolicy } from './timeout.ts';

const N = 200_000;
const fn = async () => 1;

async function measure(name: string, run: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20_000; i++) await run(); // warm-up
  const start = performance.now();
  for (let i = 0; i < N; i++) await run();
  const us = ((performance.now() - start) * 1000) / N;
  console.log(`${name.padEnd(44)} ${us.toFixed(2)} µs/call`);
}

const bare = async () => fn();
const pipelineNoTimeout = wrap(
  new Bulkhead(),
  new CircuitBreaker(),
  new RetryPolicy({ budget: new RetryBudget() }),
);
const pipeline = wrap(
  new Bulkhead(),
  new CircuitBreaker(),
  new RetryPolicy({ budget: new RetryBudget() }),
  new TimeoutPolicy(15_000),
);

await measure('bare async call', bare);
await measure('bulkhead+breaker+retry(+budget)', () => pipelineNoTimeout.execute(fn));
await measure('bulkhead+breaker+retry+attempt timeout', () => pipeline.execute(fn));
