import { GatewayError, decide, isGatewayError, timeoutError } from '@llmgw/resilience';
import type { CallTimeouts } from '../upstream/types.ts';
import type { Candidate } from './candidates.ts';
import type { AttemptOutcome, ChatTelemetry } from './telemetry.ts';

/**
 * The per-upstream policies an attempt runs under, built once per upstream
 * model (../policies/upstream-guards.ts): circuit breaker, bulkhead, retry
 * budget and backoff.
 */
export interface UpstreamGuard {
  /** False while the breaker is open: skip this candidate without calling it. */
  available(): boolean;
  /** Runs one attempt under the breaker and bulkhead; records its outcome. */
  run<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T>;
  /**
   * Opens an attempt whose outcome comes later (a stream, opened at its first token): a failure
   * of `fn` is recorded at once; after a success the breaker's verdict and the bulkhead slot are
   * held by the lease until the stream ends.
   */
  open<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<Leased<T>>;
  /** Counts a first attempt; retries are allowed as a share of these. */
  recordRequest(): void;
  tryAcquireRetry(): boolean;
  /** Delay before retry number `attempt` (1-based) after `error`, or undefined to stop. */
  retryDelay(attempt: number, error: GatewayError): number | undefined;
}

/** An opened attempt, and its hold on the breaker and the bulkhead until it is settled. */
export interface Leased<T> {
  value: T;
  lease: UpstreamLease;
}

/** Settled by the first call; later calls do nothing. */
export interface UpstreamLease {
  /** The stream finished: the upstream is healthy. */
  succeed(): void;
  /** The stream broke: counts as the upstream failure it was. */
  fail(error: unknown): void;
  /** Let go without a verdict (the caller left). */
  release(): void;
}

export interface AttemptContext {
  signal: AbortSignal;
  /** Absolute deadline (Date.now() scale) for everything this request does. */
  deadline: number;
  telemetry: ChatTelemetry;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Present only when tracing records: a span per attempt, whose context goes upstream. */
  tracer?: AttemptTracer;
  /** Headers every upstream call carries (e.g. the request span's traceparent). */
  headers?: Record<string, string>;
  /**
   * Tokens upstream attempts used that are not in the final answer's usage, as far as they
   * are known: invalid structured outputs that were repaired or given up on, and what an
   * attempt had streamed before it broke. Added up here for the token budget.
   */
  spentTokens: number;
}

export interface AttemptTracer {
  start(candidate: Candidate, attempt: number): { headers: Record<string, string>; end(outcome: AttemptOutcome, error?: GatewayError, facts?: AttemptFacts): void };
}

/** What a successful attempt produced, for its span. */
export interface AttemptFacts {
  finishReason?: string;
  usage?: { promptTokens: number; completionTokens: number };
}

/** The end of an attempt that succeeded so far (a stream that opened), reported once it is over. */
export interface AttemptEnd {
  outcome: AttemptOutcome;
  error?: GatewayError;
  facts?: AttemptFacts;
  /** Tokens it used upstream that are in no answer (a stream that broke). */
  wastedTokens?: number;
}

/** An attempt whose value is in hand and whose report waits for its end (see `openWithRetries`). */
export interface OpenAttempt<T> {
  value: T;
  /** Reports the attempt (metric and span) with its whole duration. Call once. */
  end(report: AttemptEnd): void;
}

type AttemptFn<T> = (attempt: number, signal: AbortSignal, timeouts: CallTimeouts, headers: Record<string, string> | undefined) => Promise<T>;
type RunAttempt<T> = (fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal) => Promise<T>;

/**
 * Runs `fn` against one candidate with retries: only failures that
 * `decide()` calls retryable are retried, never past the deadline, never
 * beyond the candidate's attempts or the upstream's retry budget. Anything
 * else is thrown for the caller to fail over or surface.
 */
export async function withRetries<T>(
  candidate: Candidate,
  guard: UpstreamGuard,
  ctx: AttemptContext,
  fn: AttemptFn<T>,
  /** How one attempt runs under the guard: `run` by default. */
  runAttempt: RunAttempt<T> = (f, signal) => guard.run(f, signal),
): Promise<T> {
  const opened = await openWithRetries(candidate, guard, ctx, fn, runAttempt);
  opened.end({ outcome: 'success', facts: opened.value as AttemptFacts });
  return opened.value;
}

/**
 * `withRetries` for an attempt that goes on after its value is in hand (a stream, once it
 * opened): the failed attempts are reported as they fail, the last one by its `end`, when the
 * stream is over, so it is counted once, with its real outcome and duration.
 */
export async function openWithRetries<T>(
  candidate: Candidate,
  guard: UpstreamGuard,
  ctx: AttemptContext,
  fn: AttemptFn<T>,
  /** How one attempt runs under the guard: a stream passes its `open`. */
  runAttempt: RunAttempt<T>,
): Promise<OpenAttempt<T>> {
  guard.recordRequest();
  for (let attempt = 1; ; attempt++) {
    if (!guard.available()) {
      ctx.telemetry.attempt({ candidate: candidate.name, provider: candidate.provider.name, attempt, outcome: 'circuit_open', durationMs: 0 });
      throw new GatewayError({
        code: 'circuit_open',
        kind: 'circuit_open',
        message: `The circuit for model '${candidate.requested}' is open.`,
      });
    }
    const remaining = ctx.deadline - ctx.now();
    if (remaining <= 0) throw timeoutError('timeout_total', candidate.timeouts.totalMs, `Model '${candidate.requested}'`);
    const clipped = remaining < candidate.timeouts.totalMs;
    const timeouts = clipped ? { ...candidate.timeouts, totalMs: remaining } : candidate.timeouts;
    const started = ctx.now();
    const span = ctx.tracer?.start(candidate, attempt);
    const headers = span ? span.headers : ctx.headers;
    try {
      const result = await runAttempt(
        clipped
          ? (signal) => fn(attempt, signal, timeouts, headers).catch((err: unknown) => Promise.reject(blameDeadline(err, ctx)))
          : (signal) => fn(attempt, signal, timeouts, headers),
        ctx.signal,
      );
      return {
        value: result,
        end(report) {
          span?.end(report.outcome, report.error, report.facts);
          ctx.telemetry.attempt({
            candidate: candidate.name,
            provider: candidate.provider.name,
            attempt,
            outcome: report.outcome,
            durationMs: ctx.now() - started,
            error: report.error,
            wastedTokens: report.wastedTokens,
          });
        },
      };
    } catch (err) {
      const error = GatewayError.from(err);
      span?.end(outcomeOf(error), error);
      ctx.telemetry.attempt({
        candidate: candidate.name,
        provider: candidate.provider.name,
        attempt,
        outcome: outcomeOf(error),
        durationMs: ctx.now() - started,
        error,
      });
      if (ctx.signal.aborted || decide(error) !== 'retry' || attempt >= candidate.retry.maxAttempts) throw error;
      const delay = guard.retryDelay(attempt, error);
      if (delay === undefined || ctx.now() + delay >= ctx.deadline) throw error;
      if (!guard.tryAcquireRetry()) throw error;
      ctx.telemetry.retry(candidate.name, outcomeOf(error));
      await ctx.sleep(delay, ctx.signal);
    }
  }
}

/**
 * A timeout that fired when the request's deadline ran out is the request's, not the upstream's:
 * the attempt had been given only the time left (a fallback model after slow ones), and the
 * breaker must not count it against a model that may be healthy.
 */
export function blameDeadline(error: unknown, ctx: Pick<AttemptContext, 'now' | 'deadline'>): unknown {
  if (!isGatewayError(error) || error.code !== 'upstream_timeout' || error.kind === 'timeout_deadline') return error;
  if (ctx.now() < ctx.deadline - DEADLINE_SLACK_MS) return error;
  return new GatewayError({ code: 'upstream_timeout', kind: 'timeout_deadline', retryable: true, message: `${error.message} (the request's deadline ran out)`, cause: error });
}
/** Timers fire a little late: a timeout this close to the deadline was the deadline's. */
const DEADLINE_SLACK_MS = 5;

export function outcomeOf(error: unknown): AttemptOutcome {
  if (!isGatewayError(error)) return 'network';
  switch (error.kind) {
    case 'http':
      if (error.code === 'invalid_model_output') return 'invalid_output';
      return error.status === 429 ? 'http_429' : error.status >= 500 ? 'http_5xx' : 'http_4xx';
    case 'network':
      return 'network';
    case 'stream_truncated':
      return 'stream_error';
    case 'circuit_open':
      return 'circuit_open';
    case 'bulkhead':
      return 'bulkhead';
    case 'invalid_output':
      return 'invalid_output';
    case 'content_filter':
      return 'content_filter';
    case 'context_length':
      return 'http_4xx';
    case 'aborted':
      return 'aborted';
    default:
      return 'timeout';
  }
}
