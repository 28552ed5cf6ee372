import { parseArgs } from 'node:util';
import type { Agreement } from '@llmgw/contract';
import { parseApiKeys, type ApiKeyEntry } from './middleware/auth/keys.ts';

/** The development key that works on embedded defaults (README). */
export const DEV_API_KEY = 'sk-local-dev';

export interface ServiceConfig {
  /** Default 127.0.0.1 (set HOST=0.0.0.0 to listen on every interface). */
  host: string;
  /** Default 8080; 0 picks a free port. */
  port: number;
  /** Routes file (`--routes` or LLM_ROUTES_FILE). Without one, every contract model is served by the embedded simulator. */
  routesFile: string | undefined;
  /** From LLM_API_KEYS; without it only the development key works. */
  apiKeys: Map<string, ApiKeyEntry>;
  usingDevKey: boolean;
  /** REDIS_URL: shared rate limits, budgets, cache and durable jobs across instances. */
  redisUrl: string | undefined;
  /** LLM_STORE_FAILURE: what happens when Redis is unreachable. Default 'open' (keep answering). */
  storeFailure: 'open' | 'closed';
  /** LLM_BODY_LIMIT_BYTES. Default 1 MiB. */
  bodyLimitBytes: number;
  /** LLM_BODY_TIMEOUT_MS. Default 10 s. */
  bodyTimeoutMs: number;
  /** LLM_UPSTREAM_STREAMING: stream from upstream even for non-streamed requests (silence is detected by time to first token). Default true. */
  streamUpstream: boolean;
  /** LLM_VALIDATE_RESPONSES: check every answer against the contract (development, tests). Default false. */
  validateResponses: boolean;
  /** LLM_LOG_LEVEL. Default 'info'. */
  logLevel: string;
  /** LLM_SHUTDOWN_GRACE_MS: how long in-flight requests may finish on SIGTERM. Default 10 s. */
  shutdownGraceMs: number;
  /** LLM_SIMULATOR_PORT: port of the embedded simulator (0 = any). Default 0. */
  simulatorPort: number;
  /** LLM_WORKER: run async jobs in this instance. Default true. */
  runWorker: boolean;
  /** LLM_HTTP: serve HTTP. false = a worker-only process (needs REDIS_URL to be useful). Default true. */
  httpServer: boolean;
  /**
   * Deployment overrides of the contract's limits (x-llm-agreement): LLM_REQUESTS_PER_MINUTE,
   * LLM_TOKENS_PER_MINUTE, LLM_TOKEN_BUDGET (tokens per budget window). Unset = the contract's.
   */
  limits: { requestsPerMinute?: number; tokensPerMinute?: number; tokenBudgetPerWindow?: number };
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the configuration once at start; a bad value stops the process with a message naming it. */
export function loadConfig(env: Env = process.env, argv: string[] = process.argv.slice(2)): ServiceConfig {
  const { values } = parseArgs({
    args: argv,
    options: { routes: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
    allowPositionals: false,
    strict: true,
  });
  const keysSpec = env.LLM_API_KEYS?.trim();
  const apiKeys = keysSpec ? parseApiKeys(keysSpec) : new Map([[DEV_API_KEY, { id: 'local-dev' }]]);
  return {
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port: int('PORT', values.port ?? env.PORT, 8080, 0, 65535),
    routesFile: values.routes ?? (env.LLM_ROUTES_FILE || undefined),
    apiKeys,
    usingDevKey: !keysSpec,
    redisUrl: env.REDIS_URL || undefined,
    storeFailure: oneOf('LLM_STORE_FAILURE', env.LLM_STORE_FAILURE, ['open', 'closed'] as const, 'open'),
    bodyLimitBytes: int('LLM_BODY_LIMIT_BYTES', env.LLM_BODY_LIMIT_BYTES, 1024 * 1024, 1024, 64 * 1024 * 1024),
    bodyTimeoutMs: int('LLM_BODY_TIMEOUT_MS', env.LLM_BODY_TIMEOUT_MS, 10_000, 10, 600_000),
    streamUpstream: bool('LLM_UPSTREAM_STREAMING', env.LLM_UPSTREAM_STREAMING, true),
    validateResponses: bool('LLM_VALIDATE_RESPONSES', env.LLM_VALIDATE_RESPONSES, false),
    logLevel: oneOf('LLM_LOG_LEVEL', env.LLM_LOG_LEVEL, ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, 'info'),
    shutdownGraceMs: int('LLM_SHUTDOWN_GRACE_MS', env.LLM_SHUTDOWN_GRACE_MS, 10_000, 0, 600_000),
    simulatorPort: int('LLM_SIMULATOR_PORT', env.LLM_SIMULATOR_PORT, 0, 0, 65535),
    runWorker: bool('LLM_WORKER', env.LLM_WORKER, true),
    httpServer: bool('LLM_HTTP', env.LLM_HTTP, true),
    limits: {
      requestsPerMinute: optionalInt('LLM_REQUESTS_PER_MINUTE', env.LLM_REQUESTS_PER_MINUTE),
      tokensPerMinute: optionalInt('LLM_TOKENS_PER_MINUTE', env.LLM_TOKENS_PER_MINUTE),
      tokenBudgetPerWindow: optionalInt('LLM_TOKEN_BUDGET', env.LLM_TOKEN_BUDGET),
    },
  };
}

/** The contract's agreement with the deployment's limit overrides applied (a new frozen object). */
export function effectiveAgreement(agreement: Agreement, config: Pick<ServiceConfig, 'limits'>): Agreement {
  const { requestsPerMinute, tokensPerMinute, tokenBudgetPerWindow } = config.limits;
  if (requestsPerMinute === undefined && tokensPerMinute === undefined && tokenBudgetPerWindow === undefined) return agreement;
  return Object.freeze({
    ...agreement,
    rateLimits: Object.freeze({
      requestsPerMinute: requestsPerMinute ?? agreement.rateLimits.requestsPerMinute,
      tokensPerMinute: tokensPerMinute ?? agreement.rateLimits.tokensPerMinute,
    }),
    tokenBudget: Object.freeze({ ...agreement.tokenBudget, tokensPerWindow: tokenBudgetPerWindow ?? agreement.tokenBudget.tokensPerWindow }),
  }) as Agreement;
}

function optionalInt(name: string, raw: string | undefined): number | undefined {
  return raw === undefined || raw === '' ? undefined : int(name, raw, 0, 1, Number.MAX_SAFE_INTEGER);
}

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: expected an integer in [${min}, ${max}], got '${raw}'`);
  return n;
}

function bool(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name}: expected true or false, got '${raw}'`);
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new Error(`${name}: expected one of ${allowed.join(', ')}, got '${raw}'`);
}
