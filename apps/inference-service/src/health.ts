import type { CircuitState } from '@llmgw/resilience';

export interface ReadinessCheck {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  detail?: string;
}

export interface ReadinessInput {
  draining: boolean;
  breakers: ReadonlyArray<{ candidate: string; state: CircuitState }>;
  servedModels: readonly string[];
  storeKind: 'memory' | 'redis';
  storeHealthy: boolean;
  /** Fail readiness when the shared store is down (fail-closed deployments). */
  storeRequired: boolean;
}

/**
 * Readiness from what would make requests fail: shutting down, every served
 * model's breaker open, or a required shared store unreachable. One open
 * breaker is a warning (its fallbacks still answer).
 */
export function readiness(input: ReadinessInput): { ready: boolean; checks: ReadinessCheck[] } {
  const checks: ReadinessCheck[] = [];
  if (input.draining) checks.push({ name: 'lifecycle', status: 'fail', detail: 'shutting down' });
  const states = new Map(input.breakers.map((b) => [b.candidate, b.state]));
  let open = 0;
  for (const model of input.servedModels) {
    const state = states.get(model) ?? 'closed';
    if (state === 'open') open++;
    checks.push({ name: `upstream:${model}`, status: state === 'open' ? 'warn' : 'pass', detail: `circuit ${state}` });
  }
  const allOpen = input.servedModels.length > 0 && open === input.servedModels.length;
  if (allOpen) checks.push({ name: 'upstreams', status: 'fail', detail: 'every served model has an open circuit' });
  checks.push({
    name: `store:${input.storeKind}`,
    status: input.storeHealthy ? 'pass' : input.storeRequired ? 'fail' : 'warn',
    detail: input.storeHealthy ? 'reachable' : 'unreachable',
  });
  const ready = !input.draining && !allOpen && (input.storeHealthy || !input.storeRequired);
  return { ready, checks };
}
