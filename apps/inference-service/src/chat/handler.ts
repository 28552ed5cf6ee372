import { GatewayError } from '@llmgw/resilience';
import { cacheScope, compileCacheKey, hashOf } from '../fallback/cache-key.ts';
import { runDegraded, type DegradedDeps, type DegradedStrategy } from '../fallback/degraded.ts';
import type { AdmissionControl } from '../policies/admission.ts';
import { isPromise, type ResponseCacheStore } from '../stores/types.ts';
import { toUpstreamMessages, type ApiMessage, type TokenUsage } from '../upstream/types.ts';
import { candidatesFor, toUpstreamRequest } from './request.ts';
import type { AttemptContext, AttemptTracer } from './attempts.ts';
import type { Candidate } from './candidates.ts';
import { completeAnswer, estimateUsage, streamAnswer, type Answer, type SessionDeps, type StreamOut } from './session.ts';
import type { OutputSpec, StructuredOutput } from './structured-output.ts';
import type { ChatTelemetry } from './telemetry.ts';
import { ChunkEncoder, completionBody, type CompletionBody, type FallbackInfo } from './wire.ts';

/** A route as the chat path needs it: a candidate plus its fallback chain. */
export interface ChatRoute extends Candidate {
  fallback: ReadonlyArray<{ strategy: 'alternative_model'; model: string } | { strategy: DegradedStrategy }>;
  /** Key ids allowed to use this model; undefined = every key. */
  allowedKeys?: readonly string[] | undefined;
}

/**
 * What the handler reads of a validated request (the contract's CreateChatCompletionRequest is
 * assignable to it: service.ts passes the validated body without a cast). `null` stands for
 * "not given" where OpenAI's parameter is nullable.
 */
export interface ChatRequestBody {
  model: string;
  messages: ApiMessage[];
  response_format?: Parameters<StructuredOutput['specFor']>[0];
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  user?: string;
}

/** The caller, as auth established it. */
export interface Caller {
  /** A stable id for the key (never the key itself): rate limits, budgets and logs use it. */
  keyId: string;
  /** Models this key may use; undefined means all. */
  models?: ReadonlySet<string>;
}

export type ChatResult =
  | { status: 200; body: CompletionBody; headers: Record<string, string> }
  | { status: 200; sse: ReadableStream<Uint8Array>; headers: Record<string, string> }
  | { status: 202; body: JobAcceptedBody; headers: Record<string, string> }
  | { status: 400 | 401 | 403 | 404 | 408 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504; body: ReturnType<GatewayError['toEnvelope']>; headers: Record<string, string> };

export interface JobAcceptedBody {
  id: string;
  object: 'chat.completion.job';
  status: 'queued';
  created: number;
  location: string;
}

/** The payload an async job carries: enough to run the request again later. */
export interface ChatJobPayload {
  body: ChatRequestBody;
  keyId: string;
  requestId: string;
}

export interface ChatHandlerDeps {
  resolve(model: string): ChatRoute | undefined;
  session: SessionDeps;
  structured: StructuredOutput;
  admission: AdmissionControl;
  degraded: DegradedDeps;
  cache: ResponseCacheStore;
  cacheKeyTemplate: string;
  cacheTtlMs: number;
  telemetry: ChatTelemetry;
  /** Told when a fallback strategy answered. */
  onFallback(strategy: FallbackInfo['strategy']): void;
  /** Told about tokens really used, per answering model (`candidate`) and the route asked for (`requested`). */
  onTokens(candidate: string, usage: TokenUsage, requested: string): void;
  onStoreError(store: string, error: unknown): void;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface ChatCall {
  body: ChatRequestBody;
  caller: Caller;
  requestId: string;
  /** Aborts when the caller goes away: upstream work stops with it. */
  signal: AbortSignal;
  allowDegraded: boolean;
  /** Trace context to forward upstream. */
  upstreamHeaders?: Record<string, string>;
  /** Span per upstream attempt, when tracing records. */
  tracer?: AttemptTracer;
  /** Records a span for a degraded fallback step that answered, when tracing records. */
  traceFallback?: (strategy: string) => void;
  /** Receives what the log line and span need once known. */
  report?: (facts: { model: string; fallback?: string; usage?: TokenUsage; failed?: boolean; callerLeft?: boolean }) => void;
}

/**
 * POST /v1/chat/completions: admission, routing, the candidate session, the
 * degraded fallbacks, and the answer in the contract's shape (JSON or SSE).
 */
export function createChatHandler(deps: ChatHandlerDeps) {
  const cacheKeyOf = compileCacheKey(deps.cacheKeyTemplate);

  /** `retried`: the service already retried and failed over towards the models for this request. */
  function errorResult(error: GatewayError, headers: Record<string, string>, retried = false): ChatResult {
    // The contract promises Retry-After on 429 and 503: without a hint from upstream, 1 s.
    const retryAfterMs = error.retryAfterMs ?? (error.status === 429 || error.status === 503 ? DEFAULT_RETRY_AFTER_MS : undefined);
    const h: Record<string, string> = retryAfterMs !== undefined ? { ...headers, 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } : { ...headers };
    // The service already retried and failed over towards the models: a client
    // retrying at once would multiply the load (one place per hop).
    if (retried && error.status >= 500) h['x-should-retry'] = 'false';
    const status = (STATUSES.has(error.status) ? error.status : error.status >= 500 ? 502 : 400) as 400;
    return { status, body: error.toEnvelope(), headers: h };
  }

  async function handle(call: ChatCall): Promise<ChatResult> {
    const { body, caller } = call;
    const route = deps.resolve(body.model);
    if (!route) return errorResult(modelNotFoundError(body.model), {});
    const keyAllowed = !route.allowedKeys || route.allowedKeys.includes(caller.keyId);
    if (!keyAllowed || (caller.models && !caller.models.has(route.name) && !caller.models.has(body.model))) {
      return errorResult(new GatewayError({ code: 'forbidden', param: 'model', message: `This API key may not use model '${truncate(body.model)}'.` }), {});
    }

    const messages = toUpstreamMessages(body.messages);
    const request = toUpstreamRequest(body, messages);
    // The completion allowance upstream gets: the smaller of max_tokens and max_completion_tokens.
    const estimate = estimateTokens(messages, request.maxTokens);
    // In memory the admission answers at once; awaiting a value would still cost a microtask turn.
    const admitted = deps.admission.admit(caller.keyId, estimate);
    const admission = isPromise(admitted) ? await admitted : admitted;
    if (admission.rejection) return errorResult(admission.rejection, admission.headers);
    const headers = admission.headers;

    // After the admission: compiling a caller's new schema is real work, and a refused
    // caller must not get it done.
    let output: OutputSpec;
    try {
      const spec = deps.structured.specFor(body.response_format);
      output = isPromise(spec) ? await spec : spec;
    } catch (err) {
      return errorResult(GatewayError.from(err), headers);
    }

    const ctx: AttemptContext = {
      signal: call.signal,
      deadline: deps.now() + route.timeouts.totalMs,
      telemetry: deps.telemetry,
      now: deps.now,
      sleep: deps.sleep,
      tracer: call.tracer,
      headers: call.upstreamHeaders,
      spentTokens: 0,
    };
    const input = { candidates: candidatesFor(route, deps.resolve), request, output };
    const degradedSteps = route.fallback.filter((s): s is { strategy: DegradedStrategy } => s.strategy !== 'alternative_model').map((s) => s.strategy);
    const question = lastUserText(messages);
    const cacheKey = degradedSteps.includes('cache')
      ? cacheKeyOf(
          cacheScope(caller.keyId, instructionsOf(messages)),
          question,
          () => hashOf(JSON.stringify([body.model, messages])),
          output.kind === 'json' ? output.schemaHash : undefined,
        )
      : undefined;
    const id = `chatcmpl-${call.requestId}`;

    // The answer's tokens, and those of attempts that did not become the answer (ctx.spentTokens).
    const settle = (usage: TokenUsage, candidate: string) => {
      deps.onTokens(candidate, usage, route.name);
      void deps.admission.settle(caller.keyId, estimate, usage.promptTokens + usage.completionTokens + ctx.spentTokens);
    };
    /** No answer from a model (an error, or a degraded answer): only what the failed attempts used. */
    const settleSpent = () => {
      if (ctx.spentTokens) void deps.admission.settle(caller.keyId, estimate, ctx.spentTokens);
    };
    // A stream that ends before its finish (the caller left, or it broke after partial output)
    // still spent the prompt and what was delivered: the budget is charged for them. Otherwise a
    // client that disconnects before each finish would spend without limit. When the caller left,
    // the tokens count as used by the model that was answering (a broken stream's are counted by
    // the session as the failed attempt's).
    const chargeDelivered = (completionChars: number, answeringWhenCallerLeft?: string) => {
      const usage = { promptTokens: estimateUsage(messages, '').promptTokens, completionTokens: Math.ceil(completionChars / 4) };
      if (answeringWhenCallerLeft !== undefined) deps.onTokens(answeringWhenCallerLeft, usage, route.name);
      void deps.admission.settle(caller.keyId, estimate, usage.promptTokens + usage.completionTokens);
    };
    const remember = (answer: Pick<Answer, 'content' | 'finishReason' | 'candidate'>) => {
      if (!cacheKey || answer.finishReason !== 'stop') return;
      deps.cache
        .set(cacheKey, { content: answer.content, model: answer.candidate.requested, finishReason: answer.finishReason, storedAt: Date.now() }, deps.cacheTtlMs)
        .catch((err) => deps.onStoreError('cache', err));
    };

    // Degraded answers once every model failed (unless the caller opted out).
    const degrade = async (error: GatewayError): Promise<ChatResult> => {
      settleSpent();
      if (!call.allowDegraded || degradedSteps.length === 0 || !isFallbackWorthy(error)) return errorResult(error, headers, true);
      const outcome = await runDegraded(
        degradedStepsFor(degradedSteps, error),
        {
          question,
          cacheKey,
          structured: output.kind === 'json',
          streamed: body.stream === true,
          jobPayload: (): ChatJobPayload => ({ body: { ...body, stream: false }, keyId: caller.keyId, requestId: call.requestId }),
        },
        deps.degraded,
        deps.onStoreError,
      );
      if (!outcome) return errorResult(error, headers, true);
      deps.onFallback(outcome.strategy);
      call.traceFallback?.(outcome.strategy);
      call.report?.({ model: route.name, fallback: outcome.strategy });
      const h = { ...headers, 'x-llm-fallback': outcome.strategy };
      if (outcome.kind === 'job') {
        const location = `/v1/jobs/${outcome.jobId}`;
        return {
          status: 202,
          body: { id: outcome.jobId, object: 'chat.completion.job', status: 'queued', created: Math.floor(Date.now() / 1000), location },
          headers: { ...h, location },
        };
      }
      const fallback: FallbackInfo = { strategy: outcome.strategy, degraded: true };
      const usage = { promptTokens: 0, completionTokens: 0 };
      if (body.stream) return { status: 200, sse: bufferedStream(id, { model: outcome.model, content: outcome.content, finishReason: 'stop', usage, withUsage: includeUsage(body), fallback }), headers: h };
      return { status: 200, body: completionBody(id, outcome.model, outcome.content, 'stop', usage, fallback), headers: h };
    };

    if (body.stream && output.kind === 'text') return streamed(call, id, input, ctx, headers, { settle, chargeDelivered, degrade, remember });

    let answer: Answer;
    try {
      answer = await completeAnswer(deps.session, input, ctx);
    } catch (err) {
      return degrade(GatewayError.from(err));
    }
    // Token accounting and the cache are written once the answer is on its way (setImmediate:
    // the same event-loop turn, off this request's path). Requests already read in this turn may
    // be admitted first; budgets were already approximate for concurrent requests, since usage is
    // only known at the end of each.
    setImmediate(() => {
      try {
        settle(answer.usage, answer.candidate.name);
        remember(answer);
      } catch (err) {
        // Outside any request now: a throw here would end the process.
        deps.onStoreError('token_budget', err);
      }
    });
    const fallback: FallbackInfo | undefined = answer.index > 0 ? { strategy: 'alternative_model', degraded: false } : undefined;
    if (fallback) deps.onFallback('alternative_model');
    call.report?.({ model: answer.candidate.name, fallback: fallback?.strategy, usage: answer.usage });
    const h = fallback ? { ...headers, 'x-llm-fallback': fallback.strategy } : headers;
    if (body.stream) {
      // Structured + stream: validated as a whole first, then streamed (never stream unvalidated JSON).
      return { status: 200, sse: bufferedStream(id, { model: answer.candidate.requested, content: answer.content, finishReason: answer.finishReason, usage: answer.usage, withUsage: includeUsage(body), fallback }), headers: h };
    }
    return { status: 200, body: completionBody(id, answer.candidate.requested, answer.content, answer.finishReason, answer.usage, fallback), headers: h };
  }

  /** Streams to the caller; headers wait for the first token so early failures can still fail over or become an error status. */
  async function streamed(
    call: ChatCall,
    id: string,
    input: Parameters<typeof streamAnswer>[1],
    ctx: AttemptContext,
    headers: Record<string, string>,
    done: {
      settle: (usage: TokenUsage, candidate: string) => void;
      chargeDelivered: (completionChars: number, answeringWhenCallerLeft?: string) => void;
      degrade: (error: GatewayError) => Promise<ChatResult>;
      /** A streamed answer that finished goes to the fallback cache too, as a whole one does. */
      remember: (answer: Pick<Answer, 'content' | 'finishReason' | 'candidate'>) => void;
    },
  ): Promise<ChatResult> {
    const { settle, chargeDelivered, degrade, remember } = done;
    const events = streamAnswer(deps.session, input, ctx);
    let first: IteratorResult<StreamOut>;
    try {
      first = await events.next();
    } catch (err) {
      return degrade(GatewayError.from(err));
    }
    if (first.done) return degrade(new GatewayError({ code: 'upstream_error', message: 'The upstream stream ended before any content.' }));
    const encoder = new ChunkEncoder(id);
    const usageWanted = includeUsage(call.body);
    const firstCandidate = first.value.candidate;
    const markerFor = (c: Candidate): FallbackInfo | undefined =>
      c === input.candidates[0] ? undefined : { strategy: 'alternative_model', degraded: false };
    encoder.answeringModel(firstCandidate.requested, markerFor(firstCandidate));
    const initialFallback = markerFor(firstCandidate);
    // Counted once per answer, whether the failover came before the first token or mid-stream.
    let fallbackCounted = initialFallback !== undefined;
    if (fallbackCounted) deps.onFallback('alternative_model');
    let pending: StreamOut | undefined = first.value;
    let closed = false;
    /** Characters of text the caller was sent, by whom, and whether the budget heard of this answer. */
    let delivered = 0;
    let answering = firstCandidate;
    let charged = false;
    const chargeOnce = (callerLeft: boolean) => {
      if (charged) return;
      charged = true;
      chargeDelivered(delivered, callerLeft ? answering.name : undefined);
    };

    const sse = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.role());
      },
      async pull(controller) {
        try {
          const event = pending ?? (await nextEvent());
          pending = undefined;
          if (!event) return;
          encoder.answeringModel(event.candidate.requested, markerFor(event.candidate));
          if (!fallbackCounted && event.candidate !== input.candidates[0]) {
            fallbackCounted = true;
            deps.onFallback('alternative_model');
          }
          if (event.type === 'delta') {
            delivered += event.content.length;
            answering = event.candidate;
            controller.enqueue(encoder.delta(event.content));
            return;
          }
          controller.enqueue(encoder.finish(event.finishReason));
          if (usageWanted) controller.enqueue(encoder.usage(event.usage));
          controller.enqueue(encoder.done());
          charged = true;
          settle(event.usage, event.candidate.name);
          remember(event);
          call.report?.({ model: event.candidate.name, fallback: event.index > 0 ? 'alternative_model' : undefined, usage: event.usage });
          finish(controller);
        } catch (err) {
          const error = GatewayError.from(err);
          if (!call.signal.aborted) controller.enqueue(encoder.error(error.toEnvelope()));
          chargeOnce(call.signal.aborted);
          call.report?.({ model: input.candidates[0]!.name, failed: true, callerLeft: call.signal.aborted });
          finish(controller);
        }
      },
      cancel() {
        closed = true;
        chargeOnce(true);
        call.report?.({ model: input.candidates[0]!.name, failed: true, callerLeft: true });
        void events.return(undefined);
      },
    });

    async function nextEvent(): Promise<StreamOut | undefined> {
      const next = await events.next();
      return next.done ? undefined : next.value;
    }
    function finish(controller: ReadableStreamDefaultController<Uint8Array>) {
      if (closed) return;
      closed = true;
      controller.close();
    }

    const h = initialFallback ? { ...headers, 'x-llm-fallback': initialFallback.strategy } : headers;
    return { status: 200, sse, headers: h };
  }

  return handle;
}

const DEFAULT_RETRY_AFTER_MS = 1000;
const STATUSES = new Set([400, 401, 403, 404, 408, 413, 415, 422, 429, 500, 502, 503, 504]);

/** Request-specific errors stay errors; only failures of the models are rescued by degraded answers. */
function isFallbackWorthy(error: GatewayError): boolean {
  return error.status >= 500 || error.code === 'rate_limit_exceeded' || error.code === 'context_length_exceeded';
}

/**
 * Degraded steps worth trying for this failure. Output that stayed invalid on
 * every model is not deferred to a job: running the same chain later would
 * fail the same way (and multiply upstream calls); the caller gets the 502.
 * A prompt too long for every model fails the same way later too: no job, and
 * no polite "try again in a few minutes"; a cached or rule-based answer to the
 * question may still serve, else the caller gets the 400.
 */
function degradedStepsFor(steps: readonly DegradedStrategy[], error: GatewayError): readonly DegradedStrategy[] {
  if (error.code === 'invalid_model_output') return steps.filter((s) => s !== 'async');
  if (error.code === 'context_length_exceeded') return steps.filter((s) => s !== 'async' && s !== 'polite');
  return steps;
}

/** A whole answer sent as a stream: role, content, finish, usage, [DONE]. */
function bufferedStream(
  id: string,
  answer: { model: string; content: string; finishReason: Answer['finishReason']; usage: TokenUsage; withUsage: boolean; fallback: FallbackInfo | undefined },
): ReadableStream<Uint8Array> {
  const encoder = new ChunkEncoder(id);
  encoder.answeringModel(answer.model, answer.fallback);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.role());
      if (answer.content) controller.enqueue(encoder.delta(answer.content));
      controller.enqueue(encoder.finish(answer.finishReason));
      if (answer.withUsage) controller.enqueue(encoder.usage(answer.usage));
      controller.enqueue(encoder.done());
      controller.close();
    },
  });
}

function includeUsage(body: ChatRequestBody): boolean {
  return body.stream_options?.include_usage === true;
}

/** The system instructions, in order (they scope the fallback cache). */
function instructionsOf(messages: ReturnType<typeof toUpstreamMessages>): string[] {
  const out: string[] = [];
  for (const m of messages) if (m.role === 'system') out.push(m.content);
  return out;
}

function lastUserText(messages: ReturnType<typeof toUpstreamMessages>): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return messages[i]!.content;
  return '';
}

/** Prompt size (about 4 characters per token) plus the completion allowance. */
function estimateTokens(messages: ReturnType<typeof toUpstreamMessages>, maxTokens: number | undefined): number {
  let chars = 0;
  for (const m of messages) chars += m.content.length;
  return Math.ceil(chars / 4) + Math.min(maxTokens ?? 256, 4096);
}

/** The 404 for a model name the deployment does not serve (chat and the model lookup). */
export function modelNotFoundError(requested: string): GatewayError {
  return new GatewayError({ code: 'model_not_found', param: 'model', message: `The model '${truncate(requested)}' is not served by this deployment.` });
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}
