import { JobQueueFullError, type JobQueue, type ResponseCacheStore } from '../stores/types.ts';
import { matchRule, type CompiledRule } from './rule-based.ts';

/** The degraded strategies of a fallback chain (alternative models are candidates, not here). */
export type DegradedStrategy = 'rule_based' | 'cache' | 'async' | 'polite';

export type DegradedOutcome =
  | { kind: 'answer'; strategy: 'rule_based' | 'cache' | 'polite'; content: string; model: string }
  | { kind: 'job'; strategy: 'async'; jobId: string };

export interface DegradedContext {
  /** The last user message: what rules and the FAQ cache key look at. */
  question: string;
  /** The fallback cache key for this request, when the chain has a cache step. */
  cacheKey: string | undefined;
  /** JSON was asked for: never answer with a text template. */
  structured: boolean;
  /** Streamed requests cannot become jobs (the caller is reading SSE). */
  streamed: boolean;
  /** Builds the job payload, only when the async step is reached. */
  jobPayload: () => unknown;
}

export interface DegradedDeps {
  rules: readonly CompiledRule[];
  cache: ResponseCacheStore;
  jobs: JobQueue | undefined;
  politeMessage: string;
}

/** Labels used for `model` when no model produced the answer. */
export const DEGRADED_MODEL = { rule_based: 'rule-based', polite: 'polite-fallback' } as const;

/**
 * Walks the degraded steps in their configured order and returns the first
 * that can answer. Shared-store failures on one step move on to the next
 * step: a fallback must not fail the request it is rescuing.
 */
export async function runDegraded(
  steps: readonly DegradedStrategy[],
  ctx: DegradedContext,
  deps: DegradedDeps,
  onStoreError: (store: string, error: unknown) => void,
): Promise<DegradedOutcome | undefined> {
  for (const step of steps) {
    switch (step) {
      case 'rule_based': {
        if (ctx.structured) break;
        const rule = matchRule(deps.rules, ctx.question);
        if (rule) return { kind: 'answer', strategy: 'rule_based', content: rule.template, model: DEGRADED_MODEL.rule_based };
        break;
      }
      case 'cache': {
        if (!ctx.cacheKey) break;
        try {
          const hit = await deps.cache.get(ctx.cacheKey);
          if (hit) return { kind: 'answer', strategy: 'cache', content: hit.content, model: hit.model };
        } catch (err) {
          onStoreError('cache', err);
        }
        break;
      }
      case 'async': {
        if (ctx.streamed || !deps.jobs) break;
        try {
          const job = await deps.jobs.enqueue(ctx.jobPayload());
          return { kind: 'job', strategy: 'async', jobId: job.id };
        } catch (err) {
          // A full queue is working as designed (bounded): on to the next step, not a store failure.
          if (!(err instanceof JobQueueFullError)) onStoreError('async_jobs', err);
        }
        break;
      }
      case 'polite':
        if (ctx.structured) break;
        return { kind: 'answer', strategy: 'polite', content: deps.politeMessage, model: DEGRADED_MODEL.polite };
    }
  }
  return undefined;
}
