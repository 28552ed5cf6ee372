import type { CallTimeouts, Provider } from '../upstream/types.ts';

/** What the chat session needs to know about one model it may call (a registry route). */
export interface Candidate {
  /** Registry entry (exact name or pattern): the bounded label for metrics and breakers. */
  name: string;
  /** The public model name: what a caller requested, and what `model` says in the answer. */
  requested: string;
  upstreamModel: string;
  provider: Provider;
  timeouts: CallTimeouts;
  capabilities: { jsonSchema: boolean; continuation: boolean };
  /** Undefined when the deployment did not say (treated as no larger than any other). */
  contextWindow: number | undefined;
  retry: { maxAttempts: number };
}

/**
 * The next candidate to try after `failed`, given why it failed:
 * - a context-length failure only moves to a model with a larger window;
 * - after content reached the caller, only a model that can continue a partial answer.
 */
export function nextCandidate(
  candidates: readonly Candidate[],
  from: number,
  need: { largerContextThan?: number; continuation?: boolean },
): number {
  for (let i = from; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (need.largerContextThan !== undefined && (c.contextWindow ?? 0) <= need.largerContextThan) continue;
    if (need.continuation && !c.capabilities.continuation) continue;
    return i;
  }
  return -1;
}
