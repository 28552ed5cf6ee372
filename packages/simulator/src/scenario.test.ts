import { describe, expect, it } from 'vitest';
import { FaultPlanner } from './fault-planner.ts';
import { parseScenario, parseScenarioJson, ScenarioError, type Scenario } from './scenario.ts';

function issuesOf(input: unknown): readonly string[] {
  try {
    parseScenario(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).issues;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('parseScenario', () => {
  it('accepts every documented form', () => {
    const scenario = {
      seed: 7,
      description: 'all kinds',
      rules: [
        { model: '*', kind: 'latency', ms: { type: 'uniform', min: 1, max: 5 }, per_token_latency_ms: 2 },
        { model: 'gpt-4o', kind: 'latency', ms: { type: 'normal', mean: 10, sd: 2 } },
        { model: 'gpt-4o', kind: 'latency', ms: { type: 'fixed', ms: 3 }, probability: 0.5 },
        { model: 'gpt-4o-mini', kind: 'status', status: 429, retry_after_s: 2, attempts: { first: 2 } },
        { model: 'gpt-4o-mini', kind: 'status', status: 500, message: 'boom', code: null, headers: { 'x-a': 'b' }, attempts: { every: 3 } },
        { model: 'claude-3.5-sonnet', kind: 'outage', window: { afterMs: 0, forMs: 1000 } },
        { model: '*', kind: 'reset', attempts: { nth: [1, 4] }, format: 'anthropic' },
        { model: '*', kind: 'stream_cut', after_chunks: 3, attempts: { after: 5 } },
        { model: '*', kind: 'malformed_chunk', payload: '{oops', attempts: 1 },
        { model: '*', kind: 'slow_first_token', ms: 100 },
        { model: '*', kind: 'content_filter', keep_fraction: 0.25 },
      ],
    };
    expect(parseScenario(scenario)).toBe(scenario);
  });

  it.each([
    [{ rules: [{ model: 'm', kind: 'explode' }] }, 'scenario.rules[0].kind: unknown fault kind "explode"'],
    [{ rules: [{ kind: 'reset' }] }, 'scenario.rules[0].model: expected a model name or "*"'],
    [{ rules: [{ model: 'm', kind: 'status' }] }, 'scenario.rules[0].status: expected an HTTP error status'],
    [{ rules: [{ model: 'm', kind: 'status', status: 200 }] }, 'scenario.rules[0].status: expected an HTTP error status'],
    [{ rules: [{ model: 'm', kind: 'reset', probability: 2 }] }, 'scenario.rules[0].probability: expected a number between 0 and 1'],
    [{ rules: [{ model: 'm', kind: 'reset', attempts: { first: 0 } }] }, 'scenario.rules[0].attempts.first: expected an integer >= 1'],
    [{ rules: [{ model: 'm', kind: 'reset', attempts: { first: 1, every: 2 } }] }, 'scenario.rules[0].attempts: expected a positive integer or exactly one of'],
    [{ rules: [{ model: 'm', kind: 'outage', afterMs: 5 }] }, 'scenario.rules[0].afterMs: not a parameter of "outage" (put it in "window"'],
    [{ rules: [{ model: 'm', kind: 'outage', window: { forMs: 5 } }] }, 'scenario.rules[0].window.afterMs: expected a number >= 0'],
    [{ rules: [{ model: 'm', kind: 'latency' }] }, 'scenario.rules[0]: latency needs "ms" and/or "per_token_latency_ms"'],
    [{ rules: [{ model: 'm', kind: 'latency', ms: { type: 'uniform', min: 5, max: 1 } }] }, 'scenario.rules[0].ms: max must be >= min'],
    [{ rules: [{ model: 'm', kind: 'slow_first_token' }] }, 'scenario.rules[0].ms: required for slow_first_token'],
    [{ rules: [{ model: 'm', kind: 'stream_cut', after_chunks: -1 }] }, 'scenario.rules[0].after_chunks: expected an integer >= 0'],
    [{ rules: [{ model: 'm', kind: 'reset', format: 'grpc' }] }, 'scenario.rules[0].format: expected "openai" or "anthropic"'],
    [{ rules: [{ model: 'm', kind: 'reset', fault: {} }] }, 'scenario.rules[0].fault: not a parameter of "reset" (rules are flat'],
    [{ rules: {} }, 'scenario.rules: expected an array of rules'],
    [{ rules: [], extra: 1 }, 'scenario.extra: unknown key'],
    [[], 'scenario: expected an object'],
  ])('rejects %j with a message naming the problem', (input, expected) => {
    const issues = issuesOf(input);
    expect(issues.some((issue) => issue.startsWith(expected))).toBe(true);
  });

  it('lists every problem at once', () => {
    const issues = issuesOf({ rules: [{ model: '', kind: 'reset' }, { model: 'm', kind: 'status', status: 'x' }] });
    expect(issues).toHaveLength(2);
  });

  it('reports bad JSON text with its source', () => {
    expect(() => parseScenarioJson('{nope', 'SIM_SCENARIO')).toThrow(/SIM_SCENARIO: not valid JSON/);
  });
});

describe('FaultPlanner', () => {
  const facts = { model: 'a', format: 'openai', stream: false, structured: false, prefill: false } as const;

  it('selects attempts by first / every / after / nth, counted per model', () => {
    const kinds = (scenario: Scenario, n: number, model = 'a'): Array<string | undefined> => {
      const planner = new FaultPlanner(parseScenario(scenario), 1, () => 0);
      return Array.from({ length: n }, () => planner.plan({ ...facts, model }).fault?.kind);
    };
    expect(kinds({ rules: [{ model: 'a', kind: 'reset', attempts: { first: 2 } }] }, 4)).toEqual(['reset', 'reset', undefined, undefined]);
    expect(kinds({ rules: [{ model: 'a', kind: 'reset', attempts: 2 }] }, 3)).toEqual(['reset', 'reset', undefined]);
    expect(kinds({ rules: [{ model: '*', kind: 'reset', attempts: { every: 2 } }] }, 4)).toEqual([undefined, 'reset', undefined, 'reset']);
    expect(kinds({ rules: [{ model: 'a', kind: 'reset', attempts: { after: 2 } }] }, 4)).toEqual([undefined, undefined, 'reset', 'reset']);
    expect(kinds({ rules: [{ model: 'a', kind: 'reset', attempts: { nth: [1, 3] } }] }, 3)).toEqual(['reset', undefined, 'reset']);
    expect(kinds({ rules: [{ model: 'a', kind: 'reset' }] }, 2, 'b')).toEqual([undefined, undefined]);
  });

  it('counts attempts separately for each model under a "*" rule', () => {
    const planner = new FaultPlanner(parseScenario({ rules: [{ model: '*', kind: 'reset', attempts: { first: 1 } }] }), 1, () => 0);
    expect(planner.plan({ ...facts, model: 'a' }).fault?.kind).toBe('reset');
    expect(planner.plan({ ...facts, model: 'b' }).fault?.kind).toBe('reset');
    expect(planner.plan({ ...facts, model: 'a' }).fault).toBeUndefined();
  });

  it('adds up matching latency rules and takes the first matching fault', () => {
    const planner = new FaultPlanner(
      parseScenario({
        rules: [
          { model: '*', kind: 'latency', ms: 10 },
          { model: 'a', kind: 'latency', ms: { type: 'fixed', ms: 5 }, per_token_latency_ms: 3 },
          { model: 'a', kind: 'status', status: 503 },
          { model: 'a', kind: 'reset' },
        ],
      }),
      1,
      () => 0,
    );
    const plan = planner.plan(facts);
    expect(plan).toMatchObject({ latencyMs: 15, perTokenMs: 3, attempt: 1 });
    expect(plan.fault?.kind).toBe('status');
  });

  it('skips kinds that do not apply to the request', () => {
    const planner = new FaultPlanner(
      parseScenario({ rules: [{ model: '*', kind: 'no_done' }, { model: '*', kind: 'invalid_json' }, { model: '*', kind: 'refuse_prefill' }] }),
      1,
      () => 0,
    );
    expect(planner.plan(facts).fault).toBeUndefined();
    expect(planner.plan({ ...facts, stream: true }).fault?.kind).toBe('no_done');
    expect(planner.plan({ ...facts, structured: true }).fault?.kind).toBe('invalid_json');
    expect(planner.plan({ ...facts, prefill: true }).fault?.kind).toBe('refuse_prefill');
  });

  it('opens and closes time windows on the injected clock', () => {
    let clock = 1_000;
    const planner = new FaultPlanner(parseScenario({ rules: [{ model: '*', kind: 'outage', window: { afterMs: 100, forMs: 50 } }] }), 1, () => clock);
    const at = (t: number): string | undefined => {
      clock = 1_000 + t;
      return planner.plan(facts).fault?.kind;
    };
    expect([at(0), at(99), at(100), at(149), at(150), at(10_000)]).toEqual([undefined, undefined, 'outage', 'outage', undefined, undefined]);
  });

  it('draws probabilities reproducibly from the seed', () => {
    const run = (seed: number): boolean[] => {
      const planner = new FaultPlanner(parseScenario({ rules: [{ model: '*', kind: 'reset', probability: 0.3 }] }), seed, () => 0);
      return Array.from({ length: 200 }, () => planner.plan(facts).fault !== undefined);
    };
    const first = run(7);
    expect(run(7)).toEqual(first);
    expect(run(8)).not.toEqual(first);
    const rate = first.filter(Boolean).length / first.length;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.4);
  });

  it('keeps normal latency draws non-negative and near the mean', () => {
    const planner = new FaultPlanner(parseScenario({ rules: [{ model: '*', kind: 'latency', ms: { type: 'normal', mean: 50, sd: 10 } }] }), 3, () => 0);
    const draws = Array.from({ length: 500 }, () => planner.plan(facts).latencyMs);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(mean).toBeGreaterThan(47);
    expect(mean).toBeLessThan(53);
  });
});
