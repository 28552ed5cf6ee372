/**
 * The model registry: which requested model names this deployment serves,
 * on which upstream, under which terms. Built once at start from the
 * contract's `x-llm-agreement` and the deployment's routes file; `resolve()`
 * is the per-request part (a map lookup, patterns only on a cache miss).
 *
 * Merge order for every field: agreement defaults <- agreement model entry
 * <- routes file entry (objects merge field by field; `fallback` replaces).
 */
import { createAnthropicProvider } from '../upstream/anthropic.ts';
import { createOpenAiProvider } from '../upstream/openai.ts';
import { DEFAULT_POOL_LIMITS, UpstreamPools, type PoolLimits } from '../upstream/pool.ts';
import type { CallTimeouts, Provider } from '../upstream/types.ts';
import { RoutesFileError, pointer, validateRoutes, type FallbackStep, type ModelConfig, type RoutesFile, type UpstreamConfig } from './routes-file.ts';

export type { FallbackStep } from './routes-file.ts';

/** What the registry reads from `x-llm-agreement` (the contract's `Agreement` type satisfies it). */
export interface AgreementModel {
  readonly contextWindow?: number;
  readonly capabilities?: { readonly jsonSchema?: boolean; readonly continuation?: boolean };
  readonly timeouts?: Readonly<Partial<CallTimeouts>>;
  readonly retry?: object;
  readonly circuitBreaker?: object;
  readonly slo?: { readonly p99LatencyMs?: number };
  /** The contract's loose step shape; normalised to `FallbackStep`. */
  readonly fallback?: ReadonlyArray<{ readonly strategy: FallbackStep['strategy']; readonly model?: string }>;
}

export interface AgreementLike {
  readonly defaults: {
    readonly timeouts: Readonly<CallTimeouts>;
    readonly retry: Readonly<RetryTerms>;
    readonly circuitBreaker: Readonly<CircuitBreakerTerms>;
    readonly pool: { readonly connections: number; readonly keepAlive: number };
    readonly slo: { readonly p99LatencyMs: number };
  };
  readonly models: Readonly<Record<string, AgreementModel>>;
}

export interface RetryTerms {
  maxAttempts: number;
  initialDelayMs: number;
  multiplier: number;
  maxDelayMs: number;
  jitter: 'none' | 'full' | 'equal';
  retryOnStatus: readonly number[];
  neverRetryStatus: readonly number[];
  neverRetryCodes: readonly string[];
  maxRetryAfterMs: number;
  budgetRatio: number;
  budgetMinPerSecond: number;
}

export interface CircuitBreakerTerms {
  consecutiveFailures: number;
  failureRatio: number;
  windowMs: number;
  minThroughput: number;
  halfOpenAfterMs: number;
  halfOpenMaxProbes: number;
}

export interface Capabilities {
  jsonSchema: boolean;
  continuation: boolean;
}

/** Everything the service needs to call one model. Frozen; shared between requests. */
export interface ModelRoute {
  /** The registry entry (exact name or pattern): the bounded metrics label. */
  readonly name: string;
  /** The model string the caller asked for. */
  readonly requested: string;
  /** The name sent upstream. */
  readonly upstreamModel: string;
  /** The upstream's name in the routes file. */
  readonly upstream: string;
  readonly provider: Provider;
  readonly timeouts: Readonly<CallTimeouts>;
  readonly capabilities: Readonly<Capabilities>;
  readonly contextWindow: number | undefined;
  readonly fallback: readonly FallbackStep[];
  readonly retry: Readonly<RetryTerms>;
  readonly circuitBreaker: Readonly<CircuitBreakerTerms>;
  readonly slo: Readonly<{ p99LatencyMs: number }>;
  /** Key ids allowed to use the model; undefined = every key. */
  readonly allowedKeys: readonly string[] | undefined;
  /** True when the entry is a pattern (the route was built for this requested name). */
  readonly pattern: boolean;
}

export interface Registry {
  /** The route for a requested model: exact names first, then patterns in file order. */
  resolve(requested: string): ModelRoute | undefined;
  /** Exact-name routes (for GET /v1/models); patterns are not listed. */
  list(): readonly ModelRoute[];
  /** Providers by upstream name. */
  readonly providers: ReadonlyMap<string, Provider>;
  /** Close every connection pool: in-flight calls finish first, unless `force` (they are cut). */
  close(force?: boolean): Promise<void>;
}

export interface CreateRegistryOptions {
  agreement: AgreementLike;
  /** A validated routes file (see `loadRoutesFile`), or `defaultRoutes(url)`. */
  routes: RoutesFile;
  /** Where API keys are read from (`apiKeyEnv`); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Names the routes file in errors (default "routes"). */
  source?: string;
  /** Share pools with something else (default: the registry owns its pools). */
  pools?: UpstreamPools;
}

/** Requested names remembered by `resolve` (hits and misses) before the memo is cleared. */
export const RESOLVE_CACHE_SIZE = 4096;

/** The simulator-only deployment: every agreement model on one OpenAI-format simulator upstream. */
export function defaultRoutes(simulatorUrl: string): RoutesFile {
  return {
    upstreams: { simulator: { kind: 'openai', baseUrl: `${simulatorUrl.replace(/\/+$/, '')}/v1` } },
    defaultUpstream: 'simulator',
    models: {},
  };
}

export function createRegistry(options: CreateRegistryOptions): Registry {
  const { agreement } = options;
  const source = options.source ?? 'routes';
  const env = options.env ?? process.env;
  // Validate again: a hand-built routes object gets the same checks as a file.
  const routes = validateRoutes(options.routes, source);
  const pools = options.pools ?? new UpstreamPools();
  const ownsPools = options.pools === undefined;

  const providers = new Map<string, Provider>();
  const issues: string[] = [];
  for (const [name, up] of Object.entries(routes.upstreams)) {
    let apiKey: string | undefined;
    if (up.apiKeyEnv !== undefined) {
      apiKey = env[up.apiKeyEnv];
      if (apiKey === undefined || apiKey === '') {
        issues.push(`${source}: ${pointer('upstreams', name, 'apiKeyEnv')}: environment variable ${up.apiKeyEnv} is not set`);
        continue;
      }
    }
    providers.set(name, createProvider(name, up, apiKey, pools, agreement));
  }

  // First the names (so fallbacks can be checked), then the routes.
  const listed = routes.models ?? {};
  const exactConfigs = new Map<string, ModelConfig>();
  const patterns: Array<{ name: string; test: RegExp; config: ModelConfig }> = [];
  for (const [name, config] of Object.entries(listed)) {
    if (!providers.has(config.upstream)) continue; // its upstream was already reported
    if (isPattern(name)) patterns.push({ name, test: globToRegExp(name), config });
    else exactConfigs.set(name, config);
  }
  if (routes.defaultUpstream !== undefined && providers.has(routes.defaultUpstream)) {
    for (const name of Object.keys(agreement.models)) {
      if (!exactConfigs.has(name)) exactConfigs.set(name, { upstream: routes.defaultUpstream });
    }
  }
  const servable = (model: string): boolean => exactConfigs.has(model) || patterns.some((p) => p.test.test(model));
  // An alternative_model step the routes file names must be served here; one
  // inherited from the contract is dropped when this deployment does not serve it.
  for (const [name, config] of Object.entries(listed)) {
    config.fallback?.forEach((step, i) => {
      if (step.strategy === 'alternative_model' && !servable(step.model)) {
        issues.push(`${source}: ${pointer('models', name, 'fallback', String(i), 'model')}: fallback model "${step.model}" is not served by this deployment`);
      }
    });
  }
  if (issues.length > 0) throw new RoutesFileError(issues);

  const build = (name: string, requested: string, config: ModelConfig, pattern: boolean): ModelRoute =>
    buildRoute(agreement, name, requested, config, providers.get(config.upstream)!, pattern, servable);
  const exact = new Map<string, ModelRoute>();
  for (const [name, config] of exactConfigs) exact.set(name, build(name, name, config, false));

  const list = Object.freeze([...exact.values()]);
  let memo = new Map<string, ModelRoute | null>();

  return {
    resolve(requested: string): ModelRoute | undefined {
      const hit = exact.get(requested);
      if (hit !== undefined) return hit;
      const cached = memo.get(requested);
      if (cached !== undefined) return cached ?? undefined;
      let route: ModelRoute | null = null;
      for (const p of patterns) {
        if (p.test.test(requested)) {
          route = build(p.name, requested, p.config, true);
          break;
        }
      }
      if (memo.size >= RESOLVE_CACHE_SIZE) memo = new Map();
      memo.set(requested, route);
      return route ?? undefined;
    },
    list: () => list,
    providers,
    async close(force = false) {
      if (ownsPools) await pools.closeAll(force);
    },
  };
}

function createProvider(name: string, up: UpstreamConfig, apiKey: string | undefined, pools: UpstreamPools, agreement: AgreementLike): Provider {
  const limits: PoolLimits = {
    ...DEFAULT_POOL_LIMITS,
    connections: agreement.defaults.pool.connections,
    keepAlive: agreement.defaults.pool.keepAlive,
    connectTimeoutMs: agreement.defaults.timeouts.connectMs,
    ...up.pool,
  };
  const dispatcher = pools.poolFor(up.baseUrl, limits);
  if (up.kind === 'anthropic') {
    return createAnthropicProvider({ name, baseUrl: up.baseUrl, apiKey, dispatcher, maxTokens: up.maxTokens });
  }
  return createOpenAiProvider({ name, baseUrl: up.baseUrl, apiKey, dispatcher, jsonSchema: up.jsonSchema });
}

function buildRoute(
  agreement: AgreementLike,
  name: string,
  requested: string,
  config: ModelConfig,
  provider: Provider,
  pattern: boolean,
  servable: (model: string) => boolean,
): ModelRoute {
  const d = agreement.defaults;
  // A pattern can match a model the agreement names: its terms apply under the pattern's.
  const a: AgreementModel = Object.hasOwn(agreement.models, requested) ? agreement.models[requested]! : {};
  return Object.freeze({
    name,
    requested,
    upstreamModel: config.upstreamModel ?? requested,
    upstream: config.upstream,
    provider,
    timeouts: Object.freeze({ ...d.timeouts, ...a.timeouts, ...config.timeouts }),
    capabilities: Object.freeze({ jsonSchema: false, continuation: false, ...a.capabilities, ...config.capabilities }),
    contextWindow: config.contextWindow ?? a.contextWindow,
    fallback: Object.freeze(
      config.fallback !== undefined
        ? [...config.fallback]
        : contractFallback(a.fallback, servable),
    ),
    retry: Object.freeze({ ...d.retry, ...a.retry, ...config.retry }) as RetryTerms,
    circuitBreaker: Object.freeze({ ...d.circuitBreaker, ...a.circuitBreaker, ...config.circuitBreaker }) as CircuitBreakerTerms,
    slo: Object.freeze({ ...d.slo, ...a.slo, ...config.slo }),
    allowedKeys: config.allowedKeys === undefined ? undefined : Object.freeze([...config.allowedKeys]),
    pattern,
  });
}

/** The contract's steps as `FallbackStep`s, without alternatives this deployment does not serve. */
function contractFallback(steps: AgreementModel['fallback'], servable: (model: string) => boolean): FallbackStep[] {
  const out: FallbackStep[] = [];
  for (const step of steps ?? []) {
    if (step.strategy === 'alternative_model') {
      if (step.model !== undefined && servable(step.model)) out.push({ strategy: 'alternative_model', model: step.model });
    } else out.push({ strategy: step.strategy });
  }
  return out;
}

const GLOB_CHARS = /[*?]/;
const REGEXP_SPECIALS = /[.+^${}()|[\]\\]/g;

export function isPattern(name: string): boolean {
  return GLOB_CHARS.test(name);
}

/** `*` = any characters (also none), `?` = one character; everything else literal; anchored. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(REGEXP_SPECIALS, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`, 's');
}
