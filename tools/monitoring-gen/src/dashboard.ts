import { errorRateExpr, fallbackRateExpr, p99Expr, promNumber } from './alert-rules.ts';
import { BREAKER_STATE_VALUES, METRICS } from './metric-names.ts';
import type { ResolvedSlos } from './slo.ts';

/** The dashboard's identity: stable, so a re-import replaces the previous version. */
export const DASHBOARD_UID = 'llm-gateway-slo';
export const DASHBOARD_TITLE = 'LLM gateway: SLOs and resilience';
/** Grafana's export format: the datasource is an input chosen at import time. */
export const DATASOURCE_INPUT = 'DS_PROMETHEUS';
const DATASOURCE = { type: 'prometheus', uid: `\${${DATASOURCE_INPUT}}` } as const;
/** Grafana 10/11 dashboard JSON schema version. */
const SCHEMA_VERSION = 39;
const GRID_WIDTH = 24;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Panel = { [key: string]: Json };

interface Target {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  targets: Target[];
  unit: string;
  /** Draws a red line at this value (Grafana thresholds in "line" mode). */
  threshold?: number;
  width: number;
  type?: 'timeseries' | 'state-timeline';
  mappings?: Json[];
  min?: number;
}

/** Lays panels out left to right, wrapping at Grafana's 24 columns, with deterministic ids. */
class Layout {
  readonly panels: Panel[] = [];
  private id = 0;
  private x = 0;
  private y = 0;
  private rowHeight = 0;

  row(title: string): void {
    this.newLine();
    this.panels.push({ type: 'row', id: ++this.id, title, collapsed: false, gridPos: { h: 1, w: GRID_WIDTH, x: 0, y: this.y }, panels: [] });
    this.y += 1;
  }

  panel(spec: PanelSpec, height = 8): void {
    if (this.x + spec.width > GRID_WIDTH) this.newLine();
    this.panels.push(renderPanel(++this.id, spec, { h: height, w: spec.width, x: this.x, y: this.y }));
    this.x += spec.width;
    this.rowHeight = Math.max(this.rowHeight, height);
  }

  private newLine(): void {
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }
}

function renderPanel(id: number, spec: PanelSpec, gridPos: { h: number; w: number; x: number; y: number }): Panel {
  const steps: Json[] = [{ color: 'green', value: null }];
  if (spec.threshold !== undefined) steps.push({ color: 'red', value: spec.threshold });
  const type = spec.type ?? 'timeseries';
  const custom: Json =
    type === 'timeseries'
      ? { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false, thresholdsStyle: { mode: spec.threshold === undefined ? 'off' : 'line' } }
      : { fillOpacity: 80, lineWidth: 0 };
  const defaults: { [key: string]: Json } = { unit: spec.unit, custom, thresholds: { mode: 'absolute', steps } };
  if (spec.mappings) defaults.mappings = spec.mappings;
  if (spec.min !== undefined) defaults.min = spec.min;
  return {
    type,
    id,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults, overrides: [] },
    options: type === 'timeseries' ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } } : { showValue: 'auto', mergeValues: true, rowHeight: 0.9 },
    targets: spec.targets.map((t, i) => ({ datasource: DATASOURCE, refId: String.fromCharCode(65 + i), expr: t.expr, legendFormat: t.legend, range: true })),
  };
}

/** The Grafana dashboard JSON model (export format, with `__inputs`) for the SLOs in `slos`. */
export function buildDashboard(slos: ResolvedSlos, generatedNote: string): { [key: string]: Json } {
  const w = slos.evaluationWindow;
  const layout = new Layout();

  layout.row('Service level');
  layout.panel({
    title: 'Error rate (5xx share)',
    description: `Share of requests answered 5xx over ${w}. Red line: x-llm-agreement.slo.errorRateMax.`,
    targets: [{ expr: errorRateExpr(w), legend: '5xx share' }],
    unit: 'percentunit',
    threshold: slos.errorRateMax,
    min: 0,
    width: 8,
  });
  layout.panel({
    title: 'Requests by status',
    description: 'Requests per second by HTTP status.',
    targets: [{ expr: `sum by (status) (rate(${METRICS.requests}[$__rate_interval]))`, legend: '{{status}}' }],
    unit: 'reqps',
    min: 0,
    width: 8,
  });
  layout.panel({
    title: 'Fallback rate by strategy',
    description: `Fallback answers per request over ${w}, by strategy and in total. Red line: x-llm-agreement.slo.fallbackRateAlert.`,
    targets: [
      { expr: `sum by (strategy) (rate(${METRICS.fallbacks}[${w}]))\n/ scalar(sum(rate(${METRICS.requests}[${w}])))`, legend: '{{strategy}}' },
      { expr: fallbackRateExpr(w), legend: 'all strategies' },
    ],
    unit: 'percentunit',
    threshold: slos.fallbackRateAlert,
    min: 0,
    width: 8,
  });

  layout.row('P99 latency per model (red line: the model\'s SLO)');
  const latencyWidth = Math.max(6, Math.floor(GRID_WIDTH / Math.min(slos.models.length, 4)));
  for (const { model, p99Seconds } of slos.models) {
    layout.panel({
      title: `P99 latency: ${model}`,
      description: `99th percentile of llm_request_duration_seconds over ${w}. Red line: SLO ${promNumber(p99Seconds)} s (x-llm-agreement.models.${model}.slo.p99LatencyMs).`,
      targets: [{ expr: p99Expr(model, w), legend: 'p99' }],
      unit: 's',
      threshold: p99Seconds,
      min: 0,
      width: latencyWidth,
    });
  }

  layout.row('Tokens');
  layout.panel({
    title: 'Token usage',
    description: 'Tokens per minute by model and type (prompt/completion).',
    targets: [{ expr: `sum by (model, type) (rate(${METRICS.tokens}[$__rate_interval])) * 60`, legend: '{{model}} {{type}}' }],
    unit: 'suffix:tok/min',
    min: 0,
    width: 12,
  });
  layout.panel({
    title: 'Token usage against its baseline',
    description: `Rate over the last ${slos.jumpWindow} divided by the rate over the ${slos.baselineWindow} before it. Red line: x-llm-agreement.slo.tokenUsageJumpFactor.`,
    targets: [
      {
        expr: `sum by (model) (rate(${METRICS.tokens}[${slos.jumpWindow}]))\n/ sum by (model) (rate(${METRICS.tokens}[${slos.baselineWindow}] offset ${slos.jumpWindow}))`,
        legend: '{{model}}',
      },
    ],
    unit: 'x',
    threshold: slos.jumpFactor,
    min: 0,
    width: 12,
  });

  layout.row('Resilience');
  layout.panel({
    title: 'Circuit breaker state',
    description: 'Per model: closed, half-open (probing) or open.',
    type: 'state-timeline',
    targets: [{ expr: `max by (model) (${METRICS.breakerState})`, legend: '{{model}}' }],
    unit: 'none',
    mappings: [
      {
        type: 'value',
        options: {
          [String(BREAKER_STATE_VALUES.closed)]: { text: 'closed', color: 'green', index: 0 },
          [String(BREAKER_STATE_VALUES.half_open)]: { text: 'half-open', color: 'yellow', index: 1 },
          [String(BREAKER_STATE_VALUES.open)]: { text: 'open', color: 'red', index: 2 },
        },
      },
    ],
    width: 12,
  });
  layout.panel({
    title: 'Rate-limit and budget rejections',
    description: 'Requests refused by the rate limiter (by kind) and by the token budget (by reason), per second.',
    targets: [
      { expr: `sum by (kind) (rate(${METRICS.rateLimitRejections}[$__rate_interval]))`, legend: 'rate limit: {{kind}}' },
      { expr: `sum by (reason) (rate(${METRICS.tokenBudgetRejections}[$__rate_interval]))`, legend: 'token budget: {{reason}}' },
    ],
    unit: 'reqps',
    min: 0,
    width: 12,
  });
  layout.panel({
    title: 'Upstream retries',
    description: 'Retries per second by model and reason.',
    targets: [{ expr: `sum by (model, reason) (rate(${METRICS.retries}[$__rate_interval]))`, legend: '{{model}} {{reason}}' }],
    unit: 'reqps',
    min: 0,
    width: 12,
  });
  layout.panel({
    title: 'In-flight requests',
    description: 'Requests being handled right now.',
    targets: [{ expr: `sum(${METRICS.inflight})`, legend: 'in flight' }],
    unit: 'short',
    min: 0,
    width: 12,
  });

  return {
    __generated: generatedNote,
    __inputs: [{ name: DATASOURCE_INPUT, label: 'Prometheus', description: 'The Prometheus that scrapes the gateway', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
      { type: 'panel', id: 'state-timeline', name: 'State timeline', version: '' },
    ],
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    description: `${generatedNote} P99 latency per model against its SLO, error rate, fallbacks, tokens, breakers and rejections.`,
    editable: true,
    graphTooltip: 1,
    id: null,
    links: [],
    panels: layout.panels,
    refresh: '30s',
    schemaVersion: SCHEMA_VERSION,
    tags: ['llm-gateway', 'slo', 'generated'],
    templating: { list: [] },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: DASHBOARD_TITLE,
    uid: DASHBOARD_UID,
    version: 1,
  };
}
