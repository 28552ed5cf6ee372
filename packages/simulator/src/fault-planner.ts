/**
 * Decides, per request, which faults of the active scenario apply.
 * Rules are compiled once when the scenario is set; `plan()` does only the
 * per-request work (a counter bump and a few comparisons).
 */
import { createRandom, hashString, randomNormal, type Random } from './random.ts';
import type { AttemptSelector, Distribution, FaultKind, FaultRule, Scenario, WireFormat } from './scenario.ts';

/** What the planner needs to know about a request. */
export interface RequestFacts {
  readonly model: string;
  readonly format: WireFormat;
  readonly stream: boolean;
  /** response_format / output_format asked for JSON. */
  readonly structured: boolean;
  /** The last message is an assistant prefill. */
  readonly prefill: boolean;
}

export interface FaultPlan {
  /** 1-based attempt number for this model since the scenario (re)started. */
  readonly attempt: number;
  /** Delay before the status line, summed over matching latency rules. */
  readonly latencyMs: number;
  /** Delay between stream chunks, summed over matching latency rules. */
  readonly perTokenMs: number;
  /** For slow_first_token: delay between the headers and the first chunk. */
  readonly firstTokenDelayMs: number;
  /** The first matching non-latency rule, if any. */
  readonly fault: FaultRule | undefined;
}

type Predicate = (facts: RequestFacts, attempt: number, elapsedMs: number) => boolean;

interface CompiledRule {
  readonly rule: FaultRule;
  readonly applies: Predicate;
  readonly probability: number;
  readonly random: Random;
}

/** Kinds that only make sense for some requests: a rule is skipped (not fired) elsewhere. */
const APPLICABILITY: Partial<Record<FaultKind, (facts: RequestFacts) => boolean>> = {
  no_done: (f) => f.stream,
  refuse_prefill: (f) => f.prefill,
  invalid_json: (f) => f.structured,
  truncated_json: (f) => f.structured,
  schema_violation: (f) => f.structured,
};

function attemptPredicate(selector: AttemptSelector): (attempt: number) => boolean {
  if (typeof selector === 'number') return (a) => a <= selector;
  if ('first' in selector) return (a) => a <= selector.first;
  if ('every' in selector) return (a) => a % selector.every === 0;
  if ('after' in selector) return (a) => a > selector.after;
  const set = new Set(selector.nth);
  return (a) => set.has(a);
}

function compileRule(rule: FaultRule, index: number, seed: number): CompiledRule {
  const checks: Predicate[] = [];
  if (rule.model !== '*') checks.push((f) => f.model === rule.model);
  if (rule.format) checks.push((f) => f.format === rule.format);
  const applicable = APPLICABILITY[rule.kind];
  if (applicable) checks.push((f) => applicable(f));
  if (rule.window) {
    const start = rule.window.afterMs;
    const end = rule.window.forMs === undefined ? Infinity : start + rule.window.forMs;
    checks.push((_f, _a, elapsed) => elapsed >= start && elapsed < end);
  }
  if (rule.attempts !== undefined) {
    const matches = attemptPredicate(rule.attempts);
    checks.push((_f, attempt) => matches(attempt));
  }
  return {
    rule,
    applies: (facts, attempt, elapsed) => checks.every((check) => check(facts, attempt, elapsed)),
    probability: rule.probability ?? 1,
    // One stream per rule: adding a rule does not shift the draws of the others.
    random: createRandom(hashString(`rule:${index}`, seed)),
  };
}

export function drawMs(distribution: Distribution, random: Random): number {
  if (typeof distribution === 'number') return distribution;
  switch (distribution.type) {
    case 'fixed':
      return distribution.ms;
    case 'uniform':
      return distribution.min + random() * (distribution.max - distribution.min);
    case 'normal':
      return Math.max(0, randomNormal(random, distribution.mean, distribution.sd));
  }
}

export class FaultPlanner {
  readonly #now: () => number;
  readonly #defaultSeed: number;
  #scenario: Scenario;
  #rules: CompiledRule[] = [];
  #startedAt = 0;
  readonly #attempts = new Map<string, number>();

  constructor(scenario: Scenario, seed: number, now: () => number) {
    this.#now = now;
    this.#defaultSeed = seed;
    this.#scenario = scenario;
    this.restart();
  }

  get scenario(): Scenario {
    return this.#scenario;
  }

  /** Replace the scenario; its clock, attempt counters and PRNG streams start afresh. */
  setScenario(scenario: Scenario): void {
    this.#scenario = scenario;
    this.restart();
  }

  /** Restart the scenario clock, counters and PRNG streams (same rules). */
  restart(): void {
    const seed = this.#scenario.seed ?? this.#defaultSeed;
    this.#rules = this.#scenario.rules.map((rule, i) => compileRule(rule, i, seed));
    this.#attempts.clear();
    this.#startedAt = this.#now();
  }

  plan(facts: RequestFacts): FaultPlan {
    const attempt = (this.#attempts.get(facts.model) ?? 0) + 1;
    this.#attempts.set(facts.model, attempt);
    if (this.#rules.length === 0) return { attempt, latencyMs: 0, perTokenMs: 0, firstTokenDelayMs: 0, fault: undefined };
    const elapsed = this.#now() - this.#startedAt;
    let latencyMs = 0;
    let perTokenMs = 0;
    let firstTokenDelayMs = 0;
    let fault: FaultRule | undefined;
    for (const compiled of this.#rules) {
      const { rule } = compiled;
      if (rule.kind !== 'latency' && fault) continue;
      if (!compiled.applies(facts, attempt, elapsed)) continue;
      if (compiled.probability < 1 && !(compiled.random() < compiled.probability)) continue;
      if (rule.kind === 'latency') {
        if (rule.ms !== undefined) latencyMs += drawMs(rule.ms, compiled.random);
        perTokenMs += rule.per_token_latency_ms ?? 0;
      } else {
        fault = rule;
        if (rule.kind === 'slow_first_token') firstTokenDelayMs = drawMs(rule.ms, compiled.random);
      }
    }
    return { attempt, latencyMs, perTokenMs, firstTokenDelayMs, fault };
  }
}
