import { METRICS, promString } from './metric-names.ts';
import type { ResolvedSlos } from './slo.ts';

/** One Prometheus alerting rule, in the order Prometheus documents its fields. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export interface RuleFile {
  groups: RuleGroup[];
}

export const ALERT_NAMES = {
  errorRate: 'LLMErrorRateHigh',
  p99Latency: 'LLMP99LatencyAboveSLO',
  fallbackRate: 'LLMFallbackRateHigh',
  tokenJump: 'LLMTokenUsageJump',
  breakerOpen: 'LLMCircuitBreakerOpen',
} as const;

export const GROUP_NAMES = { slo: 'llm-gateway-slo', resilience: 'llm-gateway-resilience' } as const;

/** Numbers as PromQL literals: no exponent, at most 6 significant digits (33.333333333333336 -> 33.3333). */
export function promNumber(value: number): string {
  return String(Number(value.toPrecision(6)));
}

const percent = (ratio: number) => `${promNumber(ratio * 100)}%`;

/** The 5xx share of all requests over the evaluation window. */
export function errorRateExpr(window: string): string {
  return `sum(rate(${METRICS.requests}{status=~"5.."}[${window}]))\n/\nsum(rate(${METRICS.requests}[${window}]))`;
}

/** Fallback answers per request over the evaluation window. */
export function fallbackRateExpr(window: string): string {
  return `sum(rate(${METRICS.fallbacks}[${window}]))\n/\nsum(rate(${METRICS.requests}[${window}]))`;
}

/** P99 request latency (seconds) of one model, from the histogram buckets. */
export function p99Expr(model: string | undefined, window: string): string {
  const selector = model === undefined ? '' : `{model=${promString(model)}}`;
  return `histogram_quantile(0.99, sum by (model, le) (rate(${METRICS.requestDurationBucket}${selector}[${window}])))`;
}

/** Builds the rule groups: every threshold comes from `slos` (the agreement). */
export function buildAlertRules(slos: ResolvedSlos): RuleFile {
  const w = slos.evaluationWindow;
  const sloRules: AlertRule[] = [
    {
      alert: ALERT_NAMES.errorRate,
      expr: `(\n${errorRateExpr(w)}\n) > ${promNumber(slos.errorRateMax)}`,
      for: slos.pendingFor,
      labels: { severity: 'critical', slo: 'error_rate' },
      annotations: {
        summary: `LLM gateway error rate above ${percent(slos.errorRateMax)}`,
        description: `More than ${percent(slos.errorRateMax)} of requests answered 5xx over ${w} (x-llm-agreement.slo.errorRateMax = ${slos.errorRateMax}).`,
      },
    },
    ...slos.models.map(({ model, p99Seconds }) => ({
      alert: ALERT_NAMES.p99Latency,
      expr: `${p99Expr(model, w)} > ${promNumber(p99Seconds)}`,
      for: slos.pendingFor,
      labels: { severity: 'warning', slo: 'p99_latency', model, slo_seconds: promNumber(p99Seconds) },
      annotations: {
        summary: `P99 latency of {{ $labels.model }} above its SLO of ${promNumber(p99Seconds)} s`,
        description: `The 99th percentile of llm_request_duration_seconds for {{ $labels.model }} over ${w} is above ${promNumber(p99Seconds)} s (x-llm-agreement.models.${model}.slo.p99LatencyMs).`,
      },
    })),
    {
      alert: ALERT_NAMES.fallbackRate,
      expr: `(\n${fallbackRateExpr(w)}\n) > ${promNumber(slos.fallbackRateAlert)}`,
      for: slos.pendingFor,
      labels: { severity: 'warning', slo: 'fallback_rate' },
      annotations: {
        summary: `LLM gateway fallback rate above ${percent(slos.fallbackRateAlert)}`,
        description: `More than ${percent(slos.fallbackRateAlert)} of requests were answered by a fallback strategy over ${w} (x-llm-agreement.slo.fallbackRateAlert = ${slos.fallbackRateAlert}).`,
      },
    },
    {
      alert: ALERT_NAMES.tokenJump,
      expr: tokenJumpExpr(slos),
      for: slos.pendingFor,
      labels: { severity: 'critical', slo: 'token_usage' },
      annotations: {
        summary: `Token usage of {{ $labels.model }} jumped more than ${promNumber(slos.jumpFactor)}x`,
        description:
          `Tokens per second of {{ $labels.model }} over the last ${slos.jumpWindow} exceed ${promNumber(slos.jumpFactor)}x its rate over the ${slos.baselineWindow} before ` +
          `(and more than ${slos.jumpMinTokens} tokens in ${slos.jumpWindow}): a client stuck in a loop? (x-llm-agreement.slo.tokenUsageJumpFactor)`,
      },
    },
  ];
  const breaker: AlertRule = {
    alert: ALERT_NAMES.breakerOpen,
    // min_over_time > 0: not closed at any scrape in the window (open, or half-open probes that keep failing).
    expr: `min by (model) (min_over_time(${METRICS.breakerState}[${slos.breakerOpenFor}])) > 0`,
    labels: { severity: 'warning' },
    annotations: {
      summary: `Circuit breaker of {{ $labels.model }} not closed for ${slos.breakerOpenFor}`,
      description: `The circuit breaker for {{ $labels.model }} has been open or half-open for ${slos.breakerOpenFor}: its upstream keeps failing and requests go to fallbacks.`,
    },
  };
  return {
    groups: [
      { name: GROUP_NAMES.slo, rules: sloRules },
      { name: GROUP_NAMES.resilience, rules: [breaker] },
    ],
  };
}

/**
 * Recent rate > factor x the baseline rate just before it (offset by the recent window so the
 * baseline does not contain the jump), and above a floor so a quiet system waking up stays quiet.
 */
function tokenJumpExpr(slos: ResolvedSlos): string {
  const recent = `sum by (model) (rate(${METRICS.tokens}[${slos.jumpWindow}]))`;
  const baseline = `sum by (model) (rate(${METRICS.tokens}[${slos.baselineWindow}] offset ${slos.jumpWindow}))`;
  return `${recent}\n  > ${promNumber(slos.jumpFactor)} * ${baseline}\nand\n${recent} > ${promNumber(slos.jumpFloorPerSecond)}`;
}
