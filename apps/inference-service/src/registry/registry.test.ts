import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement as contractAgreement } from '@llmgw/contract';
import { startSimulator, type Simulator } from '@llmgw/simulator';
import { RoutesFileError, loadRoutesFile, parseRoutes } from './routes-file.ts';
import { createRegistry, defaultRoutes, globToRegExp, type AgreementLike, type Registry } from './registry.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url);
// The generated agreement must satisfy what the registry reads (tsc checks this line).
const agreement: AgreementLike = contractAgreement;
const dir = mkdtempSync(join(tmpdir(), 'routes-'));

/** The issues a routes text produces (empty when it is valid). */
function issuesOf(text: string, name = 'routes.yaml'): readonly string[] {
  try {
    parseRoutes(text, name);
    return [];
  } catch (error) {
    if (error instanceof RoutesFileError) return error.issues;
    throw error;
  }
}

const registries: Registry[] = [];
function registry(...args: Parameters<typeof createRegistry>): Registry {
  const r = createRegistry(...args);
  registries.push(r);
  return r;
}

afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
});

describe('routes file: loading', () => {
  it('loads the YAML and JSON examples', () => {
    const yaml = loadRoutesFile(new URL('mixed.routes.yaml', EXAMPLES).pathname);
    expect(Object.keys(yaml.upstreams)).toEqual(['openai', 'anthropic', 'local-llama']);
    expect(yaml.models?.['ollama-*']?.upstream).toBe('local-llama');
    const json = loadRoutesFile(new URL('mixed.routes.json', EXAMPLES).pathname);
    expect(json.models?.['llama3.2']?.contextWindow).toBe(131072);
    expect(loadRoutesFile(new URL('simulator.routes.yaml', EXAMPLES).pathname).defaultUpstream).toBe('sim-openai');
  });

  it('reads JSON content from a .yaml file too (YAML is a superset)', () => {
    expect(issuesOf('{"upstreams": {"a": {"kind": "openai", "baseUrl": "http://x/v1"}}}')).toEqual([]);
  });

  it('names the file, the JSON path and the problem', () => {
    const base = 'upstreams:\n  sim: { kind: openai, baseUrl: "http://127.0.0.1:1/v1" }\n';
    const cases: Array<[string, string]> = [
      [`${base}models:\n  team-*:\n    upstream: sim\n    timeouts: { totalMs: 1.5 }\n`, 'routes.yaml: /models/team-*/timeouts/totalMs: must be integer'],
      [`${base}models:\n  m:\n    upstream: sim\n    timeout: { totalMs: 1 }\n`, 'routes.yaml: /models/m/timeout: unknown property (not allowed here)'],
      [`${base}models:\n  m: { upstreamModel: x }\n`, 'routes.yaml: /models/m/upstream: is required'],
      [`upstreams:\n  sim: { kind: grpc, baseUrl: "http://h/v1" }\n`, 'routes.yaml: /upstreams/sim/kind: must be one of "openai", "anthropic"'],
      [`upstreams:\n  sim: { kind: openai, baseUrl: "ftp://h" }\n`, 'routes.yaml: /upstreams/sim/baseUrl: must match pattern "^https?://[^\\s]+$"'],
      [`${base}models:\n  m: { upstream: nowhere }\n`, 'routes.yaml: /models/m/upstream: unknown upstream "nowhere" (declared: sim)'],
      [`${base}models:\n  m: { upstream: sim, fallback: [{ strategy: alternative_model }] }\n`, 'routes.yaml: /models/m/fallback/0/model: is required'],
      [`${base}models:\n  m: { upstream: sim, fallback: [{ strategy: polite, model: x }] }\n`, 'routes.yaml: /models/m/fallback/0/model: only for strategy alternative_model'],
      [`${base}models:\n  m: { upstream: sim, fallback: [{ strategy: pray }] }\n`, 'routes.yaml: /models/m/fallback/0/strategy: must be one of "alternative_model", "rule_based", "cache", "async", "polite"'],
      [`${base}defaultUpstream: other\n`, 'routes.yaml: /defaultUpstream: unknown upstream "other" (declared: sim)'],
      [`models: {}\n`, 'routes.yaml: /upstreams: is required'],
      [`upstreams:\n  "bad name": { kind: openai, baseUrl: "http://h/v1" }\n`, 'routes.yaml: /upstreams/bad name: invalid name (must match pattern "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")'],
      [`upstreams:\n  sim: { kind: anthropic, baseUrl: "http://h", jsonSchema: true }\n`, 'routes.yaml: /upstreams/sim/jsonSchema: only for kind openai (anthropic gets the schema in the system prompt)'],
    ];
    for (const [text, want] of cases) expect(issuesOf(text), text).toContain(want);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf('upstreams:\n  sim: { kind: openai }\nmodels:\n  m: { upstream: sim, contextWindow: 0 }\nextra: 1\n');
    expect(issues).toEqual(
      expect.arrayContaining([
        'routes.yaml: /extra: unknown property (not allowed here)',
        'routes.yaml: /upstreams/sim/baseUrl: is required',
        'routes.yaml: /models/m/contextWindow: must be >= 1',
      ]),
    );
  });

  it('reports YAML syntax errors with line and column, JSON errors by file', () => {
    const [yamlIssue] = issuesOf('upstreams:\n  sim: { kind: openai\n');
    expect(yamlIssue).toMatch(/^routes\.yaml: line \d+, column \d+: not valid YAML/);
    expect(issuesOf('{"upstreams": ', 'routes.json')[0]).toMatch(/^routes\.json: not valid JSON/);
    expect(issuesOf('upstreams: {a: {kind: openai, baseUrl: "http://x/v1"}}\nupstreams: {}\n')[0]).toMatch(/not valid YAML \(DUPLICATE_KEY/);
  });

  it('a missing file throws at start, naming it', () => {
    expect(() => loadRoutesFile(join(dir, 'absent.yaml'))).toThrow(/absent\.yaml: cannot read the routes file \(ENOENT\)/);
  });
});

describe('registry', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('default deployment: every agreement model on the simulator, with the agreement terms', async () => {
    const reg = registry({ agreement, routes: defaultRoutes(sim.url), env: {} });
    expect(reg.list().map((r) => r.name).sort()).toEqual(Object.keys(agreement.models).sort());
    const mini = reg.resolve('gpt-4o-mini')!;
    expect(mini).toMatchObject({
      name: 'gpt-4o-mini',
      requested: 'gpt-4o-mini',
      upstreamModel: 'gpt-4o-mini',
      upstream: 'simulator',
      timeouts: { connectMs: 2000, firstTokenMs: 5000, streamIdleMs: 10000, totalMs: 15000 },
      capabilities: { jsonSchema: true, continuation: true },
      contextWindow: 128000,
      slo: { p99LatencyMs: 15000 },
      pattern: false,
    });
    expect(mini.retry).toEqual(agreement.defaults.retry);
    expect(mini.fallback[0]).toEqual({ strategy: 'alternative_model', model: 'llama-3.2-70b' });
    expect(mini.provider.kind).toBe('openai');
    const answer = await mini.provider.complete(
      { model: mini.upstreamModel, messages: [{ role: 'user', content: 'hi' }] },
      { signal: new AbortController().signal, timeouts: mini.timeouts },
    );
    expect(answer.content.length).toBeGreaterThan(0);
    expect(reg.resolve('gpt-5')).toBeUndefined();
  });

  it('precedence: agreement defaults <- agreement model <- routes file', () => {
    const reg = registry({
      agreement,
      routes: parseRoutes(
        `upstreams:\n  sim: { kind: openai, baseUrl: "${sim.url}/v1" }\n` +
          'models:\n  gpt-4o:\n    upstream: sim\n    upstreamModel: gpt-4o-2024-08-06\n    timeouts: { totalMs: 9000 }\n    retry: { maxAttempts: 2 }\n' +
          '    capabilities: { continuation: false }\n',
        'routes.yaml',
      ),
      env: {},
    });
    const route = reg.resolve('gpt-4o')!;
    // totalMs from the file, firstTokenMs from the agreement model, the rest from the agreement defaults.
    expect(route.timeouts).toEqual({ connectMs: 2000, firstTokenMs: 8000, streamIdleMs: 10000, totalMs: 9000 });
    expect(route.retry.maxAttempts).toBe(2);
    expect(route.retry.initialDelayMs).toBe(agreement.defaults.retry.initialDelayMs);
    expect(route.capabilities).toEqual({ jsonSchema: true, continuation: false });
    expect(route.upstreamModel).toBe('gpt-4o-2024-08-06');
    // Its contract fallback to gpt-4o-mini is dropped: this deployment does not serve it.
    expect(route.fallback.map((s) => s.strategy)).toEqual(['rule_based', 'cache', 'async', 'polite']);
    // Without defaultUpstream, unlisted agreement models are not served.
    expect(reg.resolve('gpt-4o-mini')).toBeUndefined();
    expect(reg.list().map((r) => r.name)).toEqual(['gpt-4o']);
  });

  it('patterns: exact names first, then patterns in file order; the entry name is the label', () => {
    const reg = registry({
      agreement,
      routes: parseRoutes(
        `upstreams:\n  a: { kind: openai, baseUrl: "${sim.url}/v1" }\n  b: { kind: anthropic, baseUrl: "${sim.url}" }\n` +
          'models:\n  team-x: { upstream: b }\n  team-*: { upstream: a, timeouts: { totalMs: 1234 } }\n  team-x*: { upstream: b }\n  gpt-?o: { upstream: b, upstreamModel: fixed }\n',
        'routes.yaml',
      ),
      env: {},
    });
    expect(reg.resolve('team-x')).toMatchObject({ name: 'team-x', upstream: 'b', pattern: false });
    const xy = reg.resolve('team-xy')!;
    expect(xy).toMatchObject({ name: 'team-*', requested: 'team-xy', upstreamModel: 'team-xy', upstream: 'a', pattern: true });
    expect(xy.timeouts.totalMs).toBe(1234);
    expect(reg.resolve('team-xy')).toBe(xy); // memoised
    // A pattern matching a contract model picks up that model's terms under its own.
    expect(reg.resolve('gpt-4o')).toMatchObject({ name: 'gpt-?o', upstreamModel: 'fixed', contextWindow: 128000 });
    expect(reg.resolve('gpt-4oo')).toBeUndefined();
    expect(reg.resolve('team')).toBeUndefined();
    expect(reg.list().map((r) => r.name)).toEqual(['team-x']);
  });

  it('API keys come from the named env var; a missing one fails at start without any value in the message', async () => {
    const routes = parseRoutes(
      `upstreams:\n  sim: { kind: openai, baseUrl: "${sim.url}/v1", apiKeyEnv: SIM_KEY }\nmodels:\n  gpt-4o-mini: { upstream: sim }\n`,
      'routes.yaml',
    );
    expect(() => createRegistry({ agreement, routes, env: {}, source: 'routes.yaml' })).toThrow(
      'routes.yaml: /upstreams/sim/apiKeyEnv: environment variable SIM_KEY is not set',
    );
    const keyed = await startSimulator({ port: 0, apiKey: 'sk-secret-123' });
    try {
      const withKey = parseRoutes(`upstreams:\n  sim: { kind: openai, baseUrl: "${keyed.url}/v1", apiKeyEnv: SIM_KEY }\nmodels:\n  gpt-4o-mini: { upstream: sim }\n`, 'r.yaml');
      const reg = registry({ agreement, routes: withKey, env: { SIM_KEY: 'sk-secret-123' } });
      const route = reg.resolve('gpt-4o-mini')!;
      await expect(
        route.provider.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { signal: new AbortController().signal, timeouts: route.timeouts }),
      ).resolves.toMatchObject({ finishReason: 'stop' });
      const wrong = registry({ agreement, routes: withKey, env: { SIM_KEY: 'sk-wrong-456' } }).resolve('gpt-4o-mini')!;
      const err = await wrong.provider
        .complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { signal: new AbortController().signal, timeouts: route.timeouts })
        .catch((e: unknown) => e as Error);
      expect(String((err as Error).message)).not.toContain('sk-wrong-456');
      expect(JSON.stringify(err)).not.toContain('sk-wrong-456');
    } finally {
      await keyed.close();
    }
  });

  it('an alternative_model fallback the file names must be served', () => {
    const routes = { upstreams: { s: { kind: 'openai' as const, baseUrl: `${sim.url}/v1` } }, models: { m: { upstream: 's', fallback: [{ strategy: 'alternative_model' as const, model: 'ghost' }] } } };
    expect(() => createRegistry({ agreement, routes, env: {}, source: 'routes.yaml' })).toThrow(
      'routes.yaml: /models/m/fallback/0/model: fallback model "ghost" is not served by this deployment',
    );
  });

  it('loads the example files into registries', () => {
    const env = { OPENAI_API_KEY: 'k1', ANTHROPIC_API_KEY: 'k2' };
    const mixed = registry({ agreement, routes: loadRoutesFile(new URL('mixed.routes.yaml', EXAMPLES).pathname), env });
    expect(mixed.resolve('claude-3.5-sonnet')).toMatchObject({ upstream: 'anthropic', upstreamModel: 'claude-3-5-sonnet-20241022' });
    expect(mixed.resolve('claude-3.5-sonnet')!.provider.kind).toBe('anthropic');
    expect(mixed.resolve('ollama-qwen2.5')).toMatchObject({ name: 'ollama-*', upstream: 'local-llama', capabilities: { jsonSchema: false } });
    expect(mixed.resolve('gpt-4o')!.allowedKeys).toEqual(['team-research', 'team-support']);
    expect(mixed.resolve('llama-3.2-70b')!.timeouts).toMatchObject({ connectMs: 1000, totalMs: 30000, firstTokenMs: 6000 });
    const simulated = registry({ agreement, routes: loadRoutesFile(new URL('simulator.routes.yaml', EXAMPLES).pathname), env: {} });
    expect(simulated.list()).toHaveLength(Object.keys(agreement.models).length);
    expect(simulated.resolve('team-alpha')).toMatchObject({ name: 'team-*', upstreamModel: 'gpt-4o-mini' });
  });

  it('globs: * and ? only, everything else literal', () => {
    expect(globToRegExp('a.b*').test('a.bc')).toBe(true);
    expect(globToRegExp('a.b*').test('axbc')).toBe(false);
    expect(globToRegExp('m?').test('m1')).toBe(true);
    expect(globToRegExp('m?').test('m12')).toBe(false);
    expect(globToRegExp('(x)+').test('(x)+')).toBe(true);
  });
});
