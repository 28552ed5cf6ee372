/**
 * The scenario format: which faults to inject, for which model, and when.
 * This module only describes and validates scenarios; `fault-planner.ts`
 * decides per request. See README.md for the documented format.
 */

export const FAULT_KINDS = [
  'latency',
  'status',
  'outage',
  'context_length_exceeded',
  'content_policy',
  'content_filter',
  'reset',
  'hang',
  'slow_first_token',
  'stream_cut',
  'stream_stall',
  'malformed_chunk',
  'no_done',
  'refuse_prefill',
  'invalid_json',
  'truncated_json',
  'schema_violation',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Milliseconds: a fixed number or a distribution drawn from the seeded PRNG. */
export type Distribution =
  | number
  | { readonly type: 'fixed'; readonly ms: number }
  | { readonly type: 'uniform'; readonly min: number; readonly max: number }
  | { readonly type: 'normal'; readonly mean: number; readonly sd: number };

/** Which attempts (1-based, counted per model since the scenario started) a rule applies to. */
export type AttemptSelector =
  | number // shorthand for { first: n }
  | { readonly first: number }
  | { readonly every: number }
  | { readonly after: number }
  | { readonly nth: readonly number[] };

/** A time window relative to the scenario start; without forMs it never closes. */
export interface TimeWindow {
  readonly afterMs: number;
  readonly forMs?: number;
}

export type WireFormat = 'openai' | 'anthropic';

interface RuleBase {
  /** Exact model name, or '*' for every model. */
  readonly model: string;
  /** Restrict the rule to one wire format (default: both). */
  readonly format?: WireFormat;
  /** Chance in [0, 1] that the rule fires when its other conditions hold (seeded PRNG). */
  readonly probability?: number;
  readonly attempts?: AttemptSelector;
  readonly window?: TimeWindow;
}

export type FaultRule = RuleBase &
  (
    | { readonly kind: 'latency'; readonly ms?: Distribution; readonly per_token_latency_ms?: number }
    | {
        readonly kind: 'status';
        readonly status: number;
        readonly message?: string;
        readonly type?: string;
        readonly code?: string | null;
        readonly retry_after_s?: number;
        readonly retry_after_ms?: number;
        readonly headers?: Readonly<Record<string, string>>;
      }
    | { readonly kind: 'outage'; readonly status?: number; readonly retry_after_s?: number; readonly retry_after_ms?: number }
    | { readonly kind: 'context_length_exceeded' | 'content_policy' | 'refuse_prefill'; readonly message?: string }
    | { readonly kind: 'content_filter'; readonly keep_fraction?: number }
    | { readonly kind: 'slow_first_token'; readonly ms: Distribution }
    | { readonly kind: 'stream_cut' | 'stream_stall'; readonly after_chunks?: number }
    | { readonly kind: 'malformed_chunk'; readonly after_chunks?: number; readonly payload?: string }
    | { readonly kind: 'reset' | 'hang' | 'no_done' | 'invalid_json' | 'truncated_json' | 'schema_violation' }
  );

export interface Scenario {
  /** Seed for probabilities and latency draws (default: the simulator's seed). */
  readonly seed?: number;
  /** Evaluated in order: every matching `latency` rule adds up; the first other matching rule is the fault. */
  readonly rules: readonly FaultRule[];
}

export const EMPTY_SCENARIO: Scenario = Object.freeze({ rules: Object.freeze([]) });

/** Thrown for a scenario that does not follow the format; `issues` lists every problem with its path. */
export class ScenarioError extends Error {
  readonly issues: readonly string[];
  readonly status = 400;
  constructor(issues: readonly string[]) {
    super(`invalid simulator scenario: ${issues.join('; ')}`);
    this.name = 'ScenarioError';
    this.issues = issues;
  }
}

const COMMON_KEYS = ['model', 'kind', 'format', 'probability', 'attempts', 'window'];

/** Parameters each kind accepts, besides the common keys. */
const KIND_KEYS: Readonly<Record<FaultKind, readonly string[]>> = {
  latency: ['ms', 'per_token_latency_ms'],
  status: ['status', 'message', 'type', 'code', 'retry_after_s', 'retry_after_ms', 'headers'],
  outage: ['status', 'retry_after_s', 'retry_after_ms'],
  context_length_exceeded: ['message'],
  content_policy: ['message'],
  refuse_prefill: ['message'],
  content_filter: ['keep_fraction'],
  reset: [],
  hang: [],
  slow_first_token: ['ms'],
  stream_cut: ['after_chunks'],
  stream_stall: ['after_chunks'],
  malformed_chunk: ['after_chunks', 'payload'],
  no_done: [],
  invalid_json: [],
  truncated_json: [],
  schema_violation: [],
};

/** Keys people are likely to misplace, with where they belong. */
const KEY_HINTS: Readonly<Record<string, string>> = {
  afterMs: 'put it in "window": {"afterMs": ..., "forMs": ...}',
  forMs: 'put it in "window": {"afterMs": ..., "forMs": ...}',
  first: 'put it in "attempts": {"first": n}',
  every: 'put it in "attempts": {"every": n}',
  fault: 'rules are flat: use "kind" and the kind\'s parameters on the rule itself',
  type: 'for the fault kind use "kind"',
  retryAfter: 'use "retry_after_s" or "retry_after_ms"',
  retry_after: 'use "retry_after_s" or "retry_after_ms"',
  perTokenLatencyMs: 'use "per_token_latency_ms"',
  afterChunks: 'use "after_chunks"',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1;
}

function checkDistribution(value: unknown, path: string, issues: string[]): void {
  if (isNonNegative(value)) return;
  if (!isRecord(value)) {
    issues.push(`${path}: expected milliseconds (number >= 0) or {type: "fixed"|"uniform"|"normal", ...}`);
    return;
  }
  switch (value['type']) {
    case 'fixed':
      if (!isNonNegative(value['ms'])) issues.push(`${path}.ms: expected a number >= 0`);
      break;
    case 'uniform':
      if (!isNonNegative(value['min'])) issues.push(`${path}.min: expected a number >= 0`);
      if (!isNonNegative(value['max'])) issues.push(`${path}.max: expected a number >= 0`);
      else if (isNonNegative(value['min']) && value['max'] < value['min']) issues.push(`${path}: max must be >= min`);
      break;
    case 'normal':
      if (!isNonNegative(value['mean'])) issues.push(`${path}.mean: expected a number >= 0`);
      if (!isNonNegative(value['sd'])) issues.push(`${path}.sd: expected a number >= 0`);
      break;
    default:
      issues.push(`${path}.type: expected "fixed", "uniform" or "normal"`);
  }
}

function checkAttempts(value: unknown, path: string, issues: string[]): void {
  if (isPositiveInteger(value)) return;
  if (!isRecord(value) || Object.keys(value).length !== 1) {
    issues.push(`${path}: expected a positive integer or exactly one of {first: n}, {every: n}, {after: n}, {nth: [n, ...]}`);
    return;
  }
  const [key, n] = Object.entries(value)[0]!;
  if (key === 'first' || key === 'every') {
    if (!isPositiveInteger(n)) issues.push(`${path}.${key}: expected an integer >= 1`);
  } else if (key === 'after') {
    if (!Number.isInteger(n) || (n as number) < 0) issues.push(`${path}.after: expected an integer >= 0`);
  } else if (key === 'nth') {
    if (!Array.isArray(n) || n.length === 0 || !n.every(isPositiveInteger)) issues.push(`${path}.nth: expected a non-empty array of integers >= 1`);
  } else {
    issues.push(`${path}: unknown selector "${key}" (expected first, every, after or nth)`);
  }
}

function checkRetryAfter(rule: Record<string, unknown>, path: string, issues: string[]): void {
  for (const key of ['retry_after_s', 'retry_after_ms']) {
    if (key in rule && !isNonNegative(rule[key])) issues.push(`${path}.${key}: expected a number >= 0`);
  }
}

function checkStatus(value: unknown, path: string, issues: string[], required: boolean): void {
  if (value === undefined && !required) return;
  if (!Number.isInteger(value) || (value as number) < 400 || (value as number) > 599) {
    issues.push(`${path}: expected an HTTP error status (integer 400-599)`);
  }
}

function checkOptionalString(rule: Record<string, unknown>, key: string, path: string, issues: string[]): void {
  if (key in rule && typeof rule[key] !== 'string') issues.push(`${path}.${key}: expected a string`);
}

function checkRule(rule: unknown, path: string, issues: string[]): void {
  if (!isRecord(rule)) {
    issues.push(`${path}: expected an object`);
    return;
  }
  if (typeof rule['model'] !== 'string' || rule['model'] === '') issues.push(`${path}.model: expected a model name or "*"`);
  const kind = rule['kind'];
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    issues.push(`${path}.kind: ${kind === undefined ? 'missing' : `unknown fault kind ${JSON.stringify(kind)}`} (expected one of ${FAULT_KINDS.join(', ')})`);
    return;
  }
  const allowed = new Set([...COMMON_KEYS, ...KIND_KEYS[kind as FaultKind]]);
  for (const key of Object.keys(rule)) {
    if (allowed.has(key)) continue;
    const hint = KEY_HINTS[key];
    issues.push(`${path}.${key}: not a parameter of "${kind}"${hint ? ` (${hint})` : ''}`);
  }
  if ('format' in rule && rule['format'] !== 'openai' && rule['format'] !== 'anthropic') {
    issues.push(`${path}.format: expected "openai" or "anthropic"`);
  }
  if ('probability' in rule) {
    const p = rule['probability'];
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) issues.push(`${path}.probability: expected a number between 0 and 1`);
  }
  if ('attempts' in rule) checkAttempts(rule['attempts'], `${path}.attempts`, issues);
  if ('window' in rule) {
    const w = rule['window'];
    if (!isRecord(w)) issues.push(`${path}.window: expected {afterMs, forMs?}`);
    else {
      if (!isNonNegative(w['afterMs'])) issues.push(`${path}.window.afterMs: expected a number >= 0`);
      if ('forMs' in w && !isNonNegative(w['forMs'])) issues.push(`${path}.window.forMs: expected a number >= 0`);
      for (const key of Object.keys(w)) {
        if (key !== 'afterMs' && key !== 'forMs') issues.push(`${path}.window.${key}: unknown key (expected afterMs, forMs)`);
      }
    }
  }
  switch (kind as FaultKind) {
    case 'latency':
      if (!('ms' in rule) && !('per_token_latency_ms' in rule)) issues.push(`${path}: latency needs "ms" and/or "per_token_latency_ms"`);
      if ('ms' in rule) checkDistribution(rule['ms'], `${path}.ms`, issues);
      if ('per_token_latency_ms' in rule && !isNonNegative(rule['per_token_latency_ms'])) {
        issues.push(`${path}.per_token_latency_ms: expected a number >= 0`);
      }
      break;
    case 'status':
      checkStatus(rule['status'], `${path}.status`, issues, true);
      checkRetryAfter(rule, path, issues);
      checkOptionalString(rule, 'message', path, issues);
      checkOptionalString(rule, 'type', path, issues);
      if ('code' in rule && rule['code'] !== null && typeof rule['code'] !== 'string') issues.push(`${path}.code: expected a string or null`);
      if ('headers' in rule) {
        const h = rule['headers'];
        if (!isRecord(h) || !Object.values(h).every((v) => typeof v === 'string')) issues.push(`${path}.headers: expected an object of string values`);
      }
      break;
    case 'outage':
      checkStatus(rule['status'], `${path}.status`, issues, false);
      checkRetryAfter(rule, path, issues);
      break;
    case 'context_length_exceeded':
    case 'content_policy':
    case 'refuse_prefill':
      checkOptionalString(rule, 'message', path, issues);
      break;
    case 'content_filter':
      if ('keep_fraction' in rule) {
        const f = rule['keep_fraction'];
        if (typeof f !== 'number' || !(f >= 0 && f <= 1)) issues.push(`${path}.keep_fraction: expected a number between 0 and 1`);
      }
      break;
    case 'slow_first_token':
      if (!('ms' in rule)) issues.push(`${path}.ms: required for slow_first_token`);
      else checkDistribution(rule['ms'], `${path}.ms`, issues);
      break;
    case 'stream_cut':
    case 'stream_stall':
    case 'malformed_chunk':
      if ('after_chunks' in rule && (!Number.isInteger(rule['after_chunks']) || (rule['after_chunks'] as number) < 0)) {
        issues.push(`${path}.after_chunks: expected an integer >= 0`);
      }
      checkOptionalString(rule, 'payload', path, issues);
      break;
    default:
      break;
  }
}

/**
 * Validate an unknown value (parsed JSON, an options object) as a scenario.
 * Accepts `{rules: [...]}`; throws ScenarioError listing every problem.
 */
export function parseScenario(input: unknown): Scenario {
  const issues: string[] = [];
  if (!isRecord(input)) throw new ScenarioError(['scenario: expected an object like {"rules": [...]}']);
  for (const key of Object.keys(input)) {
    if (key !== 'rules' && key !== 'seed' && key !== 'description') issues.push(`scenario.${key}: unknown key (expected rules, seed, description)`);
  }
  if ('seed' in input && !Number.isInteger(input['seed'])) issues.push('scenario.seed: expected an integer');
  if (!Array.isArray(input['rules'])) issues.push('scenario.rules: expected an array of rules');
  else input['rules'].forEach((rule, i) => checkRule(rule, `scenario.rules[${i}]`, issues));
  if (issues.length > 0) throw new ScenarioError(issues);
  return input as unknown as Scenario;
}

/** Parse scenario JSON text (a file, an env variable, a request body). */
export function parseScenarioJson(text: string, source = 'scenario'): Scenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError([`${source}: not valid JSON (${(error as Error).message})`]);
  }
  return parseScenario(value);
}
