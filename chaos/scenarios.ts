/**
 * The fault scenarios. Each one is a simulator scenario (see
 * packages/simulator/README.md) plus how the consumer asks (structured
 * answer or a stream) and which targets apply. Every scenario also gets a
 * small realistic base latency so a run is not just a busy loop.
 */
import type { FaultRule, Scenario } from '@llmgw/simulator';
import type { RunawayTerms } from './stack.ts';

export const PRIMARY = 'gpt-4o-mini';
/** The primary's first fallback in the contract's chain. */
export const SECONDARY = 'llama-3.2-70b';

export type RequestKind = 'structured' | 'stream';

export interface ChaosScenario {
  name: string;
  what: string;
  request: RequestKind;
  rules: FaultRule[];
  /** Length of the load phase in the full run (ms); the smoke run uses SMOKE_MS. */
  durationMs?: number;
  /** The primary model is down the whole time: ≥ 99.9 % answered, p99 within the SLA. */
  primaryDown?: boolean;
  /** A sustained outage: upstream attempts per request ≤ 1.2. */
  sustainedOutage?: boolean;
  /** Down for `outageMs` then back: report the primary's share of answers in the last part. */
  recovery?: { outageMs: number; smokeOutageMs: number; tailMs: number };
  /** A second key loops far above its own baseline. */
  runaway?: RunawayTerms;
  /** Declare json_schema support for the fallback model (default true; see stack.ts chaosRoutes). */
  fallbackJsonSchema?: boolean;
}

export const BASE_LATENCY: FaultRule = { model: '*', kind: 'latency', ms: { type: 'uniform', min: 20, max: 60 }, per_token_latency_ms: 1 } as FaultRule;

export const DEFAULT_DURATION_MS = 5000;
export const SMOKE_MS = 1000;

const rule = (r: Record<string, unknown>) => r as unknown as FaultRule;

export const SCENARIOS: ChaosScenario[] = [
  { name: 'healthy', what: 'no faults (control)', request: 'structured', rules: [] },
  { name: 'healthy-stream', what: 'no faults, streamed (control)', request: 'stream', rules: [] },
  {
    name: 'primary-down',
    what: `${PRIMARY} answers 503 to everything`,
    request: 'structured',
    rules: [rule({ model: PRIMARY, kind: 'outage' })],
    primaryDown: true,
    sustainedOutage: true,
  },
  {
    name: 'primary-down-contract-caps',
    what: `as primary-down, with the contract's capabilities (${SECONDARY}: no json_schema); informational`,
    request: 'structured',
    rules: [rule({ model: PRIMARY, kind: 'outage' })],
    fallbackJsonSchema: false,
  },
  {
    name: 'primary-down-then-back',
    what: `${PRIMARY} down ~10 s, then healthy`,
    request: 'structured',
    rules: [],
    durationMs: 16_000,
    recovery: { outageMs: 10_000, smokeOutageMs: 500, tailMs: 3000 },
  },
  { name: '503-5pct', what: '5 % of upstream calls answer 503', request: 'structured', rules: [rule({ model: '*', kind: 'status', status: 503, probability: 0.05 })] },
  {
    name: '429-storm',
    what: `70 % of ${PRIMARY} calls answer 429 with Retry-After: 1`,
    request: 'structured',
    rules: [rule({ model: PRIMARY, kind: 'status', status: 429, retry_after_s: 1, probability: 0.7 })],
  },
  {
    name: 'latency-over-sla',
    what: `20 % of calls wait 3.5-5 s before answering (SLA ${'3 s'})`,
    request: 'structured',
    rules: [rule({ model: '*', kind: 'latency', ms: { type: 'uniform', min: 3500, max: 5000 }, probability: 0.2 })],
  },
  {
    name: 'hang',
    what: `${PRIMARY} accepts every call and never answers`,
    request: 'structured',
    rules: [rule({ model: PRIMARY, kind: 'hang' })],
    sustainedOutage: true,
  },
  {
    name: 'slow-first-token',
    what: `30 % of ${PRIMARY} streams: first token after 1.5 s (limit 0.8 s)`,
    request: 'stream',
    rules: [rule({ model: PRIMARY, kind: 'slow_first_token', ms: 1500, probability: 0.3 })],
  },
  {
    name: 'stream-cut',
    what: '20 % of streams: socket destroyed after 5 chunks',
    request: 'stream',
    rules: [rule({ model: '*', kind: 'stream_cut', after_chunks: 5, probability: 0.2 })],
  },
  {
    name: 'stream-stall',
    what: '20 % of streams: silence after 5 chunks',
    request: 'stream',
    rules: [rule({ model: '*', kind: 'stream_stall', after_chunks: 5, probability: 0.2 })],
  },
  {
    name: 'malformed-chunk',
    what: '20 % of streams: a damaged chunk (JSON cut off inside its content) after 3 chunks',
    request: 'stream',
    rules: [rule({ model: '*', kind: 'malformed_chunk', after_chunks: 3, probability: 0.2 })],
  },
  {
    name: 'invalid-json-20pct',
    what: '20 % of structured answers: prose around a fenced JSON block',
    request: 'structured',
    rules: [rule({ model: '*', kind: 'invalid_json', probability: 0.2 })],
  },
  { name: 'connection-resets', what: '10 % of calls: socket reset before headers', request: 'structured', rules: [rule({ model: '*', kind: 'reset', probability: 0.1 })] },
  {
    name: 'runaway-key',
    what: 'key B paces at baseline, then loops at 8x concurrency; key A asks steadily',
    request: 'structured',
    rules: [],
    runaway: { tokensPerWindow: 1_000_000_000, windowMs: 60_000, factor: 5, recentWindowMs: 1000, baselineWindowMs: 2000, minTokens: 4000 },
  },
];

/** The simulator scenario for one run: base latency first (it adds to every call), then the faults. */
export function simulatorScenario(s: ChaosScenario, outageMs?: number): Scenario {
  const rules = [BASE_LATENCY, ...s.rules];
  if (s.recovery && outageMs !== undefined) rules.push(rule({ model: PRIMARY, kind: 'outage', window: { afterMs: 0, forMs: outageMs } }));
  return { seed: 13, rules };
}
