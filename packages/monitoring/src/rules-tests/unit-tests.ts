/**
 * promtool unit tests for the generated alert rules, written by hand but with every
 * threshold read from the agreement: each alert gets a series that must fire it and
 * one that must not. Rendered to YAML next to the rule file and run with
 * `promtool test rules`. Independent of the generator's code on purpose.
 */
import type { Agreement } from '@llmgw/contract';
import { REQUEST_DURATION_BUCKETS } from '@llmgw/observability';

/** promtool's test file, as documented at prometheus.io (unit testing rules). */
export interface RuleTestFile {
  rule_files: string[];
  evaluation_interval: string;
  tests: RuleTest[];
}
export interface RuleTest {
  name: string;
  interval: string;
  input_series: Array<{ series: string; values: string }>;
  alert_rule_test: Array<{ eval_time: string; alertname: string; exp_alerts: ExpAlert[] }>;
}
export interface ExpAlert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}

/** The annotations each alert carries, as templates (read from the rule file). */
export type AnnotationTemplates = (alert: string, model?: string) => Record<string, string>;

/** A case: the alert, its tests (fire and quiet), and which of them should fail if the alert were broken. */
export interface AlertCase {
  alert: string;
  tests: RuleTest[];
}

const seconds = (window: string) => {
  const m = /^(\d+)([smh])$/.exec(window);
  if (!m) throw new Error(`unit tests expect simple windows like 5m or 1h, got '${window}'`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
};
const minutes = (window: string) => Math.ceil(seconds(window) / 60);

/** Counter values at 1m steps: each segment adds `perMinute` for `count` minutes. */
export function counterValues(segments: Array<[perMinute: number, count: number]>): string {
  const values: number[] = [0];
  for (const [perMinute, count] of segments) for (let i = 0; i < count; i++) values.push(values.at(-1)! + perMinute);
  return values.map((v) => String(Number(v.toFixed(6)))).join(' ');
}

/** Gauge values at 1m steps. */
const gaugeValues = (values: number[]) => values.join(' ');

const series = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;

const p99SloSeconds = (a: Agreement, model: string) => (a.models[model]!.slo?.p99LatencyMs ?? a.defaults.slo.p99LatencyMs) / 1000;

/** Bucket series for `perMinute` requests a minute, every one with a latency in the bucket whose upper bound is `le`. */
function latencySeries(model: string, le: number, perMinute: number, count: number) {
  const bounds = [...REQUEST_DURATION_BUCKETS.map(String), '+Inf'];
  return bounds.map((bound) => ({
    series: series('llm_request_duration_seconds_bucket', { model, status_class: '2xx', le: bound }),
    values: counterValues([[bound === '+Inf' || Number(bound) >= le ? perMinute : 0, count]]),
  }));
}

/** The smallest bucket bound above `value` (where a "too slow" observation lands). */
function bucketAbove(value: number): number {
  const b = REQUEST_DURATION_BUCKETS.find((x) => x > value);
  if (b === undefined) throw new Error(`no histogram bucket above ${value} s: REQUEST_DURATION_BUCKETS cannot resolve this SLO`);
  return b;
}
/** The largest bucket bound at or below `value`. */
function bucketAtOrBelow(value: number): number {
  const b = [...REQUEST_DURATION_BUCKETS].reverse().find((x) => x <= value);
  if (b === undefined) throw new Error(`no histogram bucket at or below ${value} s`);
  return b;
}

export function buildAlertCases(a: Agreement, annotations: AnnotationTemplates): AlertCase[] {
  const slo = a.slo;
  const models = Object.keys(a.models);
  const [first] = models;
  if (!first) throw new Error('agreement has no models');
  const evalAt = '15m';
  const run = 20;
  const test = (name: string, input: RuleTest['input_series'], alertname: string, at: string, exp: ExpAlert[]): RuleTest => ({
    name,
    interval: '1m',
    input_series: input,
    alert_rule_test: [{ eval_time: at, alertname, exp_alerts: exp }],
  });
  const exp = (alert: string, labels: Record<string, string>, model?: string): ExpAlert => ({ exp_labels: labels, exp_annotations: annotations(alert, model) });

  // Error rate: 1000 requests a minute; 5xx at twice / half the limit. 4xx never count.
  const requests = (ok: number, fiveXx: number, fourXx: number) => [
    { series: series('llm_requests_total', { model: first, status: '200' }), values: counterValues([[ok, run]]) },
    { series: series('llm_requests_total', { model: first, status: '502' }), values: counterValues([[fiveXx, run]]) },
    { series: series('llm_requests_total', { model: first, status: '429' }), values: counterValues([[fourXx, run]]) },
  ];
  const errorRate: AlertCase = {
    alert: 'LLMErrorRateHigh',
    tests: [
      test(`5xx at 2x errorRateMax (${slo.errorRateMax * 2}) fires`, requests(1000 * (1 - 2 * slo.errorRateMax), 1000 * 2 * slo.errorRateMax, 0), 'LLMErrorRateHigh', evalAt, [
        exp('LLMErrorRateHigh', { severity: 'critical', slo: 'error_rate' }),
      ]),
      test(`5xx at errorRateMax / 2 and many 4xx stays quiet`, requests(1000 * (1 - slo.errorRateMax / 2), 1000 * (slo.errorRateMax / 2), 300), 'LLMErrorRateHigh', evalAt, []),
    ],
  };

  // P99 latency: a model whose requests all land in the bucket above its SLO fires; one whose
  // requests land at or below half its SLO does not. One test per model, the others quiet.
  const p99Cases: AlertCase[] = models.map((model) => {
    const sloS = p99SloSeconds(a, model);
    const quiet = (m: string) => latencySeries(m, bucketAtOrBelow(p99SloSeconds(a, m) / 2), 60, run);
    const input = models.flatMap((m) => (m === model ? latencySeries(m, bucketAbove(sloS), 60, run) : quiet(m)));
    return {
      alert: 'LLMP99LatencyAboveSLO',
      tests: [
        test(`${model}: P99 above its ${sloS} s SLO fires for it alone`, input, 'LLMP99LatencyAboveSLO', evalAt, [
          exp('LLMP99LatencyAboveSLO', { severity: 'warning', slo: 'p99_latency', model, slo_seconds: String(sloS) }, model),
        ]),
        test(`${model}: P99 at half its SLO stays quiet`, models.flatMap(quiet), 'LLMP99LatencyAboveSLO', evalAt, []),
      ],
    };
  });
  // Same traffic everywhere (just above the tightest SLO): only the models with that SLO fire.
  const tightest = Math.min(...models.map((m) => p99SloSeconds(a, m)));
  const upper = bucketAbove(tightest);
  const lower = bucketAtOrBelow(tightest);
  const estimate = lower + (upper - lower) * 0.99; // histogram_quantile's linear interpolation in one bucket
  const perModelThresholds: AlertCase = {
    alert: 'LLMP99LatencyAboveSLO',
    tests: [
      test(
        `same latency (p99 ~${estimate.toFixed(2)} s) everywhere: each model is held to its own SLO`,
        models.flatMap((m) => latencySeries(m, upper, 60, run)),
        'LLMP99LatencyAboveSLO',
        evalAt,
        models
          .filter((m) => p99SloSeconds(a, m) < estimate)
          .map((m) => exp('LLMP99LatencyAboveSLO', { severity: 'warning', slo: 'p99_latency', model: m, slo_seconds: String(p99SloSeconds(a, m)) }, m)),
      ),
      test(
        `same latency (at half the tightest SLO) everywhere stays quiet`,
        models.flatMap((m) => latencySeries(m, bucketAtOrBelow(tightest / 2), 60, run)),
        'LLMP99LatencyAboveSLO',
        evalAt,
        [],
      ),
    ],
  };

  // Fallback rate: 200 requests a minute; fallbacks (two strategies) at twice / half the alert ratio.
  const fallbacks = (ratio: number) => [
    { series: series('llm_requests_total', { model: first, status: '200' }), values: counterValues([[200, run]]) },
    { series: series('llm_fallbacks_total', { strategy: 'alternative_model' }), values: counterValues([[(200 * ratio) / 2, run]]) },
    { series: series('llm_fallbacks_total', { strategy: 'rule_based' }), values: counterValues([[(200 * ratio) / 2, run]]) },
  ];
  const fallbackRate: AlertCase = {
    alert: 'LLMFallbackRateHigh',
    tests: [
      test(`fallbacks at 2x fallbackRateAlert fire`, fallbacks(slo.fallbackRateAlert * 2), 'LLMFallbackRateHigh', evalAt, [exp('LLMFallbackRateHigh', { severity: 'warning', slo: 'fallback_rate' })]),
      test(`fallbacks at fallbackRateAlert / 2 stay quiet`, fallbacks(slo.fallbackRateAlert / 2), 'LLMFallbackRateHigh', evalAt, []),
    ],
  };

  // Token jump: a baseline for longer than the baseline window, then a jump for the jump window and a bit.
  const jumpMin = minutes(slo.tokenUsageJumpWindow);
  const baseMin = minutes(slo.tokenUsageBaselineWindow);
  const floorPerMinute = (a.tokenBudget.runaway.minTokens / seconds(slo.tokenUsageJumpWindow)) * 60;
  const before = jumpMin + baseMin + 5;
  const after = jumpMin + 3;
  const tokenAt = `${before + after}m`;
  const tokens = (basePerMinute: number, factor: number) => [
    { series: series('llm_tokens_used_total', { model: first, type: 'prompt' }), values: counterValues([[basePerMinute, before], [basePerMinute * factor, after + 2]]) },
  ];
  const jumpLabels = { severity: 'critical', slo: 'token_usage', model: first };
  const tokenJump: AlertCase = {
    alert: 'LLMTokenUsageJump',
    tests: [
      test(`a ${slo.tokenUsageJumpFactor * 3}x jump above the floor fires`, tokens(floorPerMinute, slo.tokenUsageJumpFactor * 3), 'LLMTokenUsageJump', tokenAt, [exp('LLMTokenUsageJump', jumpLabels, first)]),
      test(`a ${slo.tokenUsageJumpFactor / 2}x jump stays quiet`, tokens(floorPerMinute * 4, slo.tokenUsageJumpFactor / 2), 'LLMTokenUsageJump', tokenAt, []),
      test(`a ${slo.tokenUsageJumpFactor * 10}x jump below the idle floor stays quiet`, tokens(floorPerMinute / 1000, slo.tokenUsageJumpFactor * 10), 'LLMTokenUsageJump', tokenAt, []),
    ],
  };

  // Breaker: open (with failing half-open probes) for 12 minutes fires; open 3 minutes at a time does not.
  const breakerSeries = (values: number[]) => [{ series: series('llm_circuit_breaker_state', { model: first }), values: gaugeValues(values) }];
  const zeros = (n: number) => Array<number>(n).fill(0);
  const breakerOpen: AlertCase = {
    alert: 'LLMCircuitBreakerOpen',
    tests: [
      test('open with failing probes for 12 minutes fires', breakerSeries([...zeros(10), 2, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2, 2, 2]), 'LLMCircuitBreakerOpen', '22m', [
        exp('LLMCircuitBreakerOpen', { severity: 'warning', model: first }, first),
      ]),
      test('open 3 minutes at a time, closed in between, stays quiet', breakerSeries([...zeros(10), 2, 2, 2, 0, 2, 2, 1, 0, 2, 2, 2, 0, 2]), 'LLMCircuitBreakerOpen', '22m', []),
    ],
  };

  return [errorRate, ...p99Cases, perModelThresholds, fallbackRate, tokenJump, breakerOpen];
}

export function ruleTestFile(ruleFile: string, tests: RuleTest[]): RuleTestFile {
  return { rule_files: [ruleFile], evaluation_interval: '1m', tests };
}
