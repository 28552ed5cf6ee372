import { Hono, type Context } from 'hono';
import { routePath } from 'hono/route';
import { agreement as contractAgreement, openapiDocument, openapiYaml, type Agreement } from '@llmgw/contract';
import { registerRoutes, type Handlers } from '@llmgw/server';
import {
  createLogger,
  createMetrics,
  endSpan,
  extractContext,
  injectHeaders,
  contextWithSpan,
  requestLineLogger,
  requestLogFields,
  startRequestSpan,
  traceIdOf,
  type GatewayMetrics,
  type Logger,
  type Span,
} from '@llmgw/observability';
import { GatewayError, isGatewayError, isGatewayErrorCode } from '@llmgw/resilience';
import { createChatHandler, modelNotFoundError, type ChatJobPayload, type ChatRoute } from './chat/handler.ts';
import { createStructuredOutput } from './chat/structured-output.ts';
import type { SessionDeps } from './chat/session.ts';
import type { CompletionBody } from './chat/wire.ts';
import type { ServiceConfig } from './config.ts';
import { mountDocs } from './docs/index.ts';
import { compileRules } from './fallback/rule-based.ts';
import { readiness } from './health.ts';
import { createJobProcessor } from './jobs/worker.ts';
import { bearerAuth } from './middleware/auth/index.ts';
import { createKeyVerifier } from './middleware/auth/keys.ts';
import { boundedBody } from './middleware/body/index.ts';
import { requestId } from './middleware/request-id/index.ts';
import { createAdmission } from './policies/admission.ts';
import { createTokenBudget } from './policies/token-budget.ts';
import { createUpstreamGuards } from './policies/upstream-guards.ts';
import { createRegistry, type Registry } from './registry/registry.ts';
import type { RoutesFile } from './registry/routes-file.ts';
import { memoryDefaults, tokenUsageBuckets } from './stores/index.ts';
import type { JobQueue, SharedStores } from './stores/types.ts';
import { attemptTracer, breakerEvents, chatTelemetry, fallbackSpan, storeErrorReporter } from './telemetry.ts';

export interface ServiceOptions {
  config: ServiceConfig;
  /** The deployment's routes (a loaded routes file, or `defaultRoutes(simulatorUrl)`). */
  routes: RoutesFile;
  /** Names the routes file in errors. */
  routesSource?: string;
  /** Default: the contract's x-llm-agreement. */
  agreement?: Agreement;
  env?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
  metrics?: GatewayMetrics;
  /** Default: in-memory stores sized from the agreement. */
  stores?: SharedStores;
  /** Default: an in-memory queue. */
  jobs?: JobQueue<ChatJobPayload, CompletionBody>;
  /** Record spans (set when an OpenTelemetry SDK is registered). Default false. */
  tracing?: boolean;
  /** Clock and sleep for tests. */
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** A W3C traceparent (version 00): what is passed on untouched when tracing is off. */
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * With tracing off (no span of ours), the caller's trace context goes upstream as it came, so the
 * caller's trace still joins the provider's; its trace id goes in the log line.
 */
function callerTrace(headers: Headers, record: RequestRecord): Record<string, string> | undefined {
  const traceparent = headers.get('traceparent');
  if (traceparent === null) return undefined;
  const id = TRACEPARENT.exec(traceparent)?.[1];
  if (id === undefined || id === '00000000000000000000000000000000') return undefined;
  record.callerTraceId = id;
  const tracestate = headers.get('tracestate');
  return tracestate === null ? { traceparent } : { traceparent, tracestate };
}

/** Status recorded for a request whose caller left before its answer was complete (nginx's "client closed request"). */
const CALLER_LEFT = 499;

/** What a request leaves behind for its metric and log line. */
interface RequestRecord {
  start: number;
  /** The requested model's registry entry: the metrics label (an SLO belongs to what was asked for). */
  model: string;
  /** Who answered (a fallback's name when one did), for the log line and span. */
  answeredBy?: string;
  /** Only chat completions are counted in llm_requests_total (job polls would skew the rates). */
  chat: boolean;
  fallback?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** The error code of a non-2xx answer (e.g. token_budget_exceeded vs rate_limit_exceeded). */
  code?: string;
  /** The caller left before its answer was complete: recorded as 499, not as our failure. */
  callerLeft?: boolean;
  /** Streams finish after the handler returns: the record is closed at stream end. */
  deferred: boolean;
  finished: boolean;
  span?: Span;
  /** The caller's trace id, when tracing is off and the caller sent a traceparent (for the log line). */
  callerTraceId?: string;
}

declare module 'hono' {
  interface ContextVariableMap {
    record: RequestRecord;
  }
}

export interface Service {
  app: Hono;
  registry: Registry;
  metrics: GatewayMetrics;
  logger: Logger;
  stores: SharedStores;
  jobs: JobQueue<ChatJobPayload, CompletionBody>;
  /** Stop taking new work: /readyz turns not ready, and answers ask for their connection to be closed. */
  drain(): void;
  /** Waits for in-flight requests, up to `graceMs`: true when none is left. */
  settle(graceMs?: number): Promise<boolean>;
  /**
   * Waits for in-flight requests (up to `graceMs`), then closes pools and stores; upstream calls
   * still running after the grace are cut, so the stop never outlasts it by a model's timeout.
   */
  close(graceMs?: number): Promise<void>;
  inflight(): number;
}

/** Builds the whole service (no listening socket): see ./server.ts for that. */
export function createService(options: ServiceOptions): Service {
  const { config } = options;
  const agreement = options.agreement ?? contractAgreement;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const requestLog = requestLineLogger(logger);
  const registry = createRegistry({ agreement, routes: options.routes, env: options.env, source: options.routesSource });
  const served = registry.list().map((r) => r.name);
  const patternNames = Object.keys(options.routes.models ?? {}).filter((n) => /[*?]/.test(n));
  const metrics = options.metrics ?? createMetrics({ models: [...served, ...patternNames, 'rule-based', 'polite-fallback'], providers: registry.providers.keys(), collectDefault: true });
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const defaults = options.stores && options.jobs ? undefined : memoryDefaults(agreement);
  const stores = options.stores ?? defaults!.stores;
  const jobs = options.jobs ?? defaults!.jobs;
  const reportStoreError = storeErrorReporter(metrics, logger);
  const telemetry = chatTelemetry(metrics, logger);
  const guards = createUpstreamGuards({
    settings: { retry: agreement.defaults.retry, circuitBreaker: agreement.defaults.circuitBreaker, bulkhead: agreement.defaults.bulkhead },
    events: breakerEvents(metrics, logger),
    now,
    random: options.random,
  });
  for (const name of served) metrics.circuitState(name, 'closed');
  const structured = createStructuredOutput({
    maxSchemaBytes: agreement.defaults.structuredOutput.maxSchemaBytes,
    cacheSize: agreement.defaults.structuredOutput.schemaCacheSize,
  });
  const session: SessionDeps = {
    guardFor: (c) => guards.guardFor(c),
    structured,
    maxRepairs: agreement.defaults.structuredOutput.maxRepairs,
    streamUpstream: config.streamUpstream,
  };
  const resolve = (model: string): ChatRoute | undefined => registry.resolve(model);
  const admission = createAdmission({
    requests: stores.requestLimiter,
    reads: stores.readLimiter,
    tokens: stores.tokenLimiter,
    budget: createTokenBudget(stores.tokenUsage, { ...agreement.tokenBudget, bucketMs: tokenUsageBuckets(agreement).bucketMs, now }),
    onStoreError: config.storeFailure,
    reportStoreError,
    reportRejection: (kind) => (kind === 'requests' || kind === 'tokens' || kind === 'reads' ? metrics.rateLimitRejected(kind) : metrics.tokenBudgetRejected(kind)),
  });
  const onTokens = (candidate: string, usage: { promptTokens: number; completionTokens: number }, requested: string) =>
    metrics.tokensUsed(candidate, usage.promptTokens, usage.completionTokens, undefined, requested);
  const chat = createChatHandler({
    resolve,
    session,
    structured,
    admission,
    degraded: {
      rules: compileRules(agreement.fallback.rules),
      cache: stores.cache,
      // An in-process queue with no worker in this process would accept jobs that never run.
      jobs: config.runWorker || stores.kind === 'redis' ? (jobs as JobQueue) : undefined,
      politeMessage: agreement.fallback.polite.message,
    },
    cache: stores.cache,
    cacheKeyTemplate: agreement.fallback.cache.key,
    cacheTtlMs: agreement.fallback.cache.ttlMs,
    telemetry,
    onFallback: (strategy) => metrics.fallbackUsed(strategy),
    onTokens,
    onStoreError: reportStoreError,
    now,
    sleep,
  });
  if (config.runWorker) {
    // The admission was for the request that queued the job; its tokens are charged as it runs.
    const chargeTokens = (keyId: string, tokens: number) => admission.settle(keyId, 0, tokens);
    const runJob = createJobProcessor({ resolve, session, structured, telemetry, onTokens, chargeTokens, now, sleep });
    jobs.startWorker((payload) => runJob(payload));
  }

  let draining = false;
  let inflight = 0;
  let idle: (() => void) | undefined;

  /** Not ready from now on; resolves true once nothing is in flight, false when `graceMs` ran out first. */
  function settle(graceMs = config.shutdownGraceMs): Promise<boolean> {
    draining = true;
    if (inflight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(inflight === 0), graceMs);
      timer.unref?.();
      idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Metrics, span and log line of a finished request (see finishRecord for when). */
  const recordFinished = (record: RequestRecord, status: number, latency: number, requestId: string | undefined, keyId: string | undefined) => {
    try {
      if (record.chat) {
        metrics.requestFinished(record.model, status, latency / 1000);
        if (record.promptTokens !== undefined) metrics.genAiOperation(record.model, latency / 1000, undefined, record.answeredBy);
      }
      if (record.span) endSpan(record.span, { httpStatus: status, responseModel: record.answeredBy, fallbackStrategy: record.fallback, inputTokens: record.promptTokens, outputTokens: record.completionTokens, errorType: status >= 500 ? String(status) : undefined });
      requestLog.info({
        ...requestLogFields({
          requestId,
          traceId: traceIdOf(record.span) ?? record.callerTraceId,
          keyId,
          model: record.answeredBy ?? record.model,
          status,
          latencyMs: latency,
          tokens: record.promptTokens === undefined ? undefined : { prompt: record.promptTokens, completion: record.completionTokens },
          fallbackStrategy: record.fallback,
        }),
        code: record.code,
      }, 'request');
    } catch (err) {
      // Outside any request now: a throw here would end the process.
      logger.error({ requestId, err: { name: (err as Error).name, message: (err as Error).message } }, 'recording a finished request failed');
    } finally {
      if (--inflight === 0) idle?.();
    }
  };

  /**
   * Closes a request's record: the latency is taken now, the recording is done by
   * setImmediate, after the answer has been written (the check phase follows the
   * write in the same event-loop turn), so the metrics, span and log line are off
   * the caller's critical path. A request read after this turn sees them; one read
   * in the same turn (concurrent with this one) may not, as before for concurrency.
   */
  const finishRecord = (record: RequestRecord, status: number, c?: Context) => {
    if (record.finished) return;
    record.finished = true;
    // nginx's 499: the SLO's error rate counts our failures, not callers that hung up.
    setImmediate(recordFinished, record, record.callerLeft ? CALLER_LEFT : status, now() - record.start, c?.get('requestId'), c?.get('caller')?.id);
  };

  /** `created` of the served models: when this process started serving them (stable across calls). */
  const servedSince = Math.floor(Date.now() / 1000);
  const app = new Hono();
  app.use('*', requestId());
  app.use('/v1/*', async function observe(c, next) {
    inflight++;
    const record: RequestRecord = { start: now(), model: 'other', chat: c.req.path === '/v1/chat/completions', deferred: false, finished: false };
    // The gauge counts what llm_requests_total counts (chat completions): requestFinished takes it down.
    if (record.chat) metrics.requestStarted();
    if (options.tracing) {
      record.span = startRequestSpan(`${c.req.method} ${c.req.routePath}`, {}, extractContext(c.req.raw.headers));
    }
    c.set('record', record);
    try {
      await next();
    } finally {
      // Named after the route that answered (inside this middleware routePath is its own '/v1/*').
      record.span?.updateName(`${c.req.method} ${routePath(c, -1)}`);
      if (!record.deferred) finishRecord(record, c.res.status, c);
      else c.set('record', record);
      // Draining: a load balancer keeping this connection alive would send more work here.
      if (draining) c.res.headers.set('connection', 'close');
    }
  });
  app.use('/v1/*', bearerAuth(createKeyVerifier(config.apiKeys)));
  app.post('/v1/*', boundedBody({ limitBytes: config.bodyLimitBytes, timeoutMs: config.bodyTimeoutMs }));

  /** Reads (model lookups, job polls) are held to their own per-key window; app.onError answers the 429. */
  async function holdToReadRate(c: Context): Promise<void> {
    const refused = await admission.admitRead(c.get('caller').id);
    if (refused) throw refused;
  }

  const handlers: Handlers = {
    async createChatCompletion(c, input) {
      const record = c.get('record');
      const caller = c.get('caller');
      record.model = registry.resolve(input.body.model)?.name ?? 'other';
      record.span?.setAttribute('gen_ai.request.model', input.body.model);
      // `report` brings the final facts once per request: before `chat` returns for JSON and
      // buffered answers, at the end of a live stream (or its cancel) otherwise.
      let reported = false;
      const result = await chat({
        body: input.body,
        caller: { keyId: caller.id, models: caller.models },
        requestId: c.get('requestId'),
        signal: c.req.raw.signal,
        allowDegraded: input.headers['x-llm-no-degraded'] !== 'true',
        upstreamHeaders: record.span ? injectHeaders({} as Record<string, string>, contextWithSpan(record.span)) : callerTrace(c.req.raw.headers, record),
        tracer: record.span?.isRecording() ? attemptTracer(record.span) : undefined,
        traceFallback: record.span?.isRecording() ? (strategy) => fallbackSpan(record.span!, strategy) : undefined,
        report: (facts) => {
          record.answeredBy = facts.model;
          record.fallback = facts.fallback;
          record.promptTokens = facts.usage?.promptTokens;
          record.completionTokens = facts.usage?.completionTokens;
          reported = true;
          if (facts.callerLeft) record.callerLeft = true;
          if (record.deferred) finishRecord(record, facts.failed ? 502 : 200, c);
        },
      });
      if ('body' in result && result.status >= 400) record.code = (result.body as { error: { code: string } }).error.code;
      if (c.req.raw.signal.aborted && !('sse' in result)) record.callerLeft = true;
      // A live stream is closed by `report` when it ends (or by its cancel). A buffered one
      // (structured output, a degraded answer) was reported already: the middleware closes it.
      if ('sse' in result) record.deferred = !reported;
      return result;
    },
    async listModels(c) {
      await holdToReadRate(c);
      return {
        status: 200,
        body: { object: 'list', data: registry.list().map((r) => ({ id: r.name, object: 'model' as const, created: servedSince, owned_by: r.upstream })) },
      };
    },
    async getModel(c, input) {
      await holdToReadRate(c);
      const name = input.params.model;
      const route = registry.resolve(name);
      if (!route) {
        return { status: 404, body: modelNotFoundError(name).toEnvelope() };
      }
      return { status: 200, body: { id: name, object: 'model', created: servedSince, owned_by: route.upstream } };
    },
    async getJob(c, input) {
      await holdToReadRate(c);
      let job: Awaited<ReturnType<typeof jobs.get>>;
      try {
        job = await jobs.get(input.params.job_id);
      } catch (err) {
        reportStoreError('async_jobs', err);
        return {
          status: 503,
          body: new GatewayError({ code: 'upstream_unavailable', message: 'The job store is unreachable; try again shortly.' }).toEnvelope(),
          headers: { 'retry-after': '1' },
        };
      }
      // A job is its creator's: another key is told what it would be told for an unknown id
      // (job ids are hard to guess, but they travel in URLs and logs).
      if (!job || job.payload.keyId !== c.get('caller').id) {
        return { status: 404, body: new GatewayError({ code: 'job_not_found', param: 'job_id', message: `No job '${input.params.job_id}' (unknown, or its result expired).` }).toEnvelope() };
      }
      return {
        status: 200,
        body: {
          id: job.id,
          object: 'chat.completion.job',
          status: job.state,
          created: Math.floor(job.createdAt / 1000),
          updated: Math.floor(job.updatedAt / 1000),
          attempts: job.attempts,
          result: job.state === 'succeeded' ? (job.result as never) : null,
          error: job.state === 'failed' && job.error ? new GatewayError({ code: isGatewayErrorCode(job.error.code) ? job.error.code : 'internal_error', message: job.error.message }).toEnvelope().error : null,
        },
      };
    },
    getHealth() {
      return { status: 200, body: { status: 'ok' } };
    },
    async getReadiness() {
      const storeHealthy = await stores.healthy().catch(() => false);
      const r = readiness({
        draining,
        breakers: guards.states(),
        servedModels: served,
        storeKind: stores.kind,
        storeHealthy,
        storeRequired: config.storeFailure === 'closed',
      });
      return r.ready
        ? { status: 200, body: { status: 'ready', checks: r.checks } }
        : { status: 503, body: { status: 'not_ready', checks: r.checks }, headers: { 'retry-after': '5' } };
    },
  };
  registerRoutes(app, handlers, {
    validateResponses: config.validateResponses,
    // The middleware sets no headers before the handlers with c.header() (request-id sets its own on the Node response).
    ownResponseHeaders: true,
    onResponseValidationError: (err) => logger.error({ operationId: err.operationId, status: err.status, param: err.param }, err.message),
  });

  app.get('/metrics', async (c) => {
    const counts = await jobs.counts().catch(() => undefined);
    if (counts) for (const state of ['queued', 'running', 'succeeded', 'failed'] as const) metrics.setAsyncJobs(state, counts[state]);
    // Breakers move from open to half-open when read: a scrape must not show one open past its wait.
    guards.states();
    const { contentType, body } = metrics.metricsHandler();
    return c.body(await body, 200, { 'content-type': contentType });
  });
  mountDocs(app, openapiDocument, openapiYaml);

  app.notFound((c) => c.json(new GatewayError({ code: 'invalid_request', status: 404, type: 'not_found_error', message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}.` }).toEnvelope(), 404));
  app.onError((err, c) => {
    const error = isGatewayError(err) ? err : undefined;
    if (!error) logger.error({ requestId: c.get('requestId'), err: { name: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack } }, 'unhandled error');
    const e = error ?? new GatewayError({ code: 'internal_error', message: 'An unexpected error occurred; the request id identifies it in the logs.' });
    const record = c.get('record');
    if (record) record.code = e.code;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (e.retryAfterMs !== undefined) headers['retry-after'] = String(Math.ceil(e.retryAfterMs / 1000));
    return c.body(JSON.stringify(e.toEnvelope()), e.status as 400, headers);
  });

  return {
    app,
    registry,
    metrics,
    logger,
    stores,
    jobs,
    drain() {
      draining = true;
    },
    settle,
    async close(graceMs = config.shutdownGraceMs) {
      const settled = await settle(graceMs);
      await jobs.close();
      await registry.close(!settled);
      await stores.close();
    },
    inflight: () => inflight,
  };
}


/** setTimeout as a promise that rejects when `signal` aborts (retry waits end with the caller). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
