import type { Agreement } from '@llmgw/contract';
import { durationSeconds } from './durations.ts';

/** How long an SLO condition must hold before its alert fires. Default '2m'. */
export const DEFAULT_PENDING_FOR = '2m';
/** A breaker not closed for this long raises a warning. Default '5m' (five half-open periods of the contract's 60 s). */
export const DEFAULT_BREAKER_OPEN_FOR = '5m';

export interface MonitoringOptions {
  /** `for:` of the SLO alerts. Default DEFAULT_PENDING_FOR. */
  pendingFor?: string;
  /** The N in "circuit breaker not closed for N". Default DEFAULT_BREAKER_OPEN_FOR. */
  breakerOpenFor?: string;
  /**
   * Tokens in the jump window below which the token-jump alert stays quiet (idle systems
   * jump from 0 to anything). Default: the agreement's `tokenBudget.runaway.minTokens`.
   */
  tokenJumpMinTokens?: number;
}

export interface ModelSlo {
  model: string;
  p99Seconds: number;
}

/** Everything the rules and the dashboard need, read once from the agreement and checked. */
export interface ResolvedSlos {
  errorRateMax: number;
  fallbackRateAlert: number;
  evaluationWindow: string;
  jumpFactor: number;
  jumpWindow: string;
  baselineWindow: string;
  /** Tokens per second over the jump window below which no jump alert fires. */
  jumpFloorPerSecond: number;
  jumpMinTokens: number;
  pendingFor: string;
  breakerOpenFor: string;
  /** In the contract's order. */
  models: ModelSlo[];
}

export class SloError extends Error {
  override name = 'SloError';
}

function ratio(value: number, where: string): number {
  if (!(value > 0 && value < 1)) throw new SloError(`${where}: expected a ratio between 0 and 1 (exclusive), got ${value}`);
  return value;
}

function positive(value: number, where: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new SloError(`${where}: expected a positive number, got ${value}`);
  return value;
}

/** Reads `x-llm-agreement.slo` and each model's `slo.p99LatencyMs` (default: `defaults.slo`). */
export function resolveSlos(agreement: Agreement, options: MonitoringOptions = {}): ResolvedSlos {
  const slo = agreement.slo;
  const jumpSeconds = durationSeconds(slo.tokenUsageJumpWindow, 'x-llm-agreement.slo.tokenUsageJumpWindow');
  durationSeconds(slo.tokenUsageBaselineWindow, 'x-llm-agreement.slo.tokenUsageBaselineWindow');
  durationSeconds(slo.evaluationWindow, 'x-llm-agreement.slo.evaluationWindow');
  const pendingFor = options.pendingFor ?? DEFAULT_PENDING_FOR;
  const breakerOpenFor = options.breakerOpenFor ?? DEFAULT_BREAKER_OPEN_FOR;
  durationSeconds(pendingFor, 'options.pendingFor');
  durationSeconds(breakerOpenFor, 'options.breakerOpenFor');
  const jumpMinTokens = positive(options.tokenJumpMinTokens ?? agreement.tokenBudget.runaway.minTokens, 'x-llm-agreement.tokenBudget.runaway.minTokens');
  const models = Object.entries(agreement.models).map(([model, terms]) => {
    const ms = terms.slo?.p99LatencyMs ?? agreement.defaults.slo.p99LatencyMs;
    return { model, p99Seconds: positive(ms, `x-llm-agreement.models.${model}.slo.p99LatencyMs`) / 1000 };
  });
  if (models.length === 0) throw new SloError('x-llm-agreement.models: no models, so no latency SLO to alert on');
  return {
    errorRateMax: ratio(slo.errorRateMax, 'x-llm-agreement.slo.errorRateMax'),
    fallbackRateAlert: ratio(slo.fallbackRateAlert, 'x-llm-agreement.slo.fallbackRateAlert'),
    evaluationWindow: slo.evaluationWindow,
    jumpFactor: positive(slo.tokenUsageJumpFactor, 'x-llm-agreement.slo.tokenUsageJumpFactor'),
    jumpWindow: slo.tokenUsageJumpWindow,
    baselineWindow: slo.tokenUsageBaselineWindow,
    jumpFloorPerSecond: jumpMinTokens / jumpSeconds,
    jumpMinTokens,
    pendingFor,
    breakerOpenFor,
    models,
  };
}

