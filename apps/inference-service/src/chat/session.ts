import { GatewayError, decide } from '@llmgw/resilience';
import {
  MAX_ANSWER_SIZE,
  type CallTimeouts,
  type FinishReason,
  type TokenUsage,
  type UpstreamMessage,
  type UpstreamRequest,
  type UpstreamStream,
  type UpstreamStreamEvent,
} from '../upstream/types.ts';
import { isCallerTooSlow } from '../upstream/http.ts';
import {
  blameDeadline,
  openWithRetries,
  withRetries,
  type AttemptContext,
  type AttemptEnd,
  type OpenAttempt,
  type UpstreamGuard,
  type UpstreamLease,
} from './attempts.ts';
import { nextCandidate, type Candidate } from './candidates.ts';
import { repairInstruction, type OutputSpec, type StructuredOutput } from './structured-output.ts';

export interface SessionDeps {
  guardFor(candidate: Candidate): UpstreamGuard;
  structured: StructuredOutput;
  /** Re-asks after invalid structured output, per candidate. */
  maxRepairs: number;
  /** Stream from upstream even when the caller did not ask to (detects silence by time to first token). */
  streamUpstream: boolean;
}

export interface SessionInput {
  /** Primary first, then the alternative models of its fallback chain. */
  candidates: readonly Candidate[];
  request: Omit<UpstreamRequest, 'model'>;
  output: OutputSpec;
}

export interface Answer {
  content: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /** Who really answered. */
  candidate: Candidate;
  /** Index of `candidate` in the list: 0 means the primary answered. */
  index: number;
}

/**
 * One request's trip through its candidates, for a caller that wants the
 * whole answer: retries per candidate, failover across candidates, and the
 * structured-output check (with bounded repairs) before anything is returned.
 * Throws the GatewayError the caller should see when no candidate answered.
 */
export async function completeAnswer(deps: SessionDeps, input: SessionInput, ctx: AttemptContext): Promise<Answer> {
  const { candidates } = input;
  let failure: GatewayError | undefined;
  let i = 0;
  while (i >= 0 && i < candidates.length) {
    const candidate = candidates[i]!;
    try {
      const answer = await answerFrom(deps, input, candidate, ctx);
      return { ...answer, candidate, index: i };
    } catch (err) {
      const error = GatewayError.from(err);
      if (ctx.signal.aborted) throw error;
      i = failoverIndex(candidates, i, error);
      // A circuit that was open says less about the request than the failure before it.
      failure = failure && error.kind === 'circuit_open' ? failure : error;
    }
  }
  throw finalError(failure, candidates[0]!);
}

/** One candidate: retried attempts, then the structured-output check and repairs. */
async function answerFrom(
  deps: SessionDeps,
  input: SessionInput,
  candidate: Candidate,
  ctx: AttemptContext,
): Promise<Omit<Answer, 'candidate' | 'index'>> {
  const guard = deps.guardFor(candidate);
  let messages = input.request.messages;
  for (let repair = 0; ; repair++) {
    const request: UpstreamRequest = { ...input.request, messages, model: candidate.upstreamModel, nativeJsonSchema: candidate.capabilities.jsonSchema };
    const answer = await withRetries(candidate, guard, ctx, (_attempt, signal, timeouts, headers) =>
      deps.streamUpstream
        ? collect(candidate, request, signal, timeouts, headers, ctx)
        : candidate.provider.complete(request, { signal, timeouts, headers }),
    );
    if (input.output.kind === 'text') return answer;
    if (answer.finishReason === 'content_filter') {
      throw new GatewayError({
        code: 'content_policy_violation',
        kind: 'content_filter',
        message: `Model '${candidate.requested}' stopped its answer on its content filter, so no valid JSON could be returned.`,
      });
    }
    const check = deps.structured.check(input.output, answer.content);
    if (check.ok) {
      if (repair > 0) ctx.telemetry.repair(candidate.name, 'fixed');
      return answer;
    }
    ctx.telemetry.structuredInvalid(candidate.name, answer.content, check.error);
    // Paid for upstream, and not the answer.
    ctx.spentTokens += answer.usage.promptTokens + answer.usage.completionTokens;
    if (repair >= deps.maxRepairs) {
      if (repair > 0) ctx.telemetry.repair(candidate.name, 'failed');
      throw new GatewayError({
        code: 'invalid_model_output',
        kind: 'invalid_output',
        message: `The output of model '${candidate.requested}' did not match the requested schema after ${repair} repair(s): ${check.error}.`,
      });
    }
    messages = [
      ...input.request.messages,
      { role: 'assistant', content: answer.content },
      { role: 'user', content: repairInstruction(check.error) },
    ];
  }
}

/** Reads a whole upstream stream into one answer (malformed chunks are skipped and counted). */
async function collect(
  candidate: Candidate,
  request: UpstreamRequest,
  signal: AbortSignal,
  timeouts: CallTimeouts,
  headers: Record<string, string> | undefined,
  ctx: AttemptContext,
): Promise<Omit<Answer, 'candidate' | 'index'>> {
  const stream = await candidate.provider.stream(request, { signal, timeouts, headers });
  let content = '';
  let finished = false;
  try {
    for await (const batch of stream.batches ? stream.batches() : singles(stream)) {
      for (const event of batch) {
        if (event.type === 'delta') {
          content += event.content;
          // As for a non-streamed answer: a model that never finishes must not take the memory.
          if (content.length > MAX_ANSWER_SIZE) throw tooLong(candidate);
        } else if (event.type === 'malformed') ctx.telemetry.malformedChunk(candidate.name);
        else {
          finished = true;
          return { content, finishReason: event.finishReason, usage: event.usage ?? estimateUsage(request.messages, content) };
        }
      }
    }
  } finally {
    stream.cancel();
    // A broken answer's text was paid for upstream (about 4 characters a token).
    if (!finished && content !== '') ctx.spentTokens += Math.ceil(content.length / 4);
  }
  throw truncated(candidate, 'ended without a finish event');
}

/** A stream without batches, as batches of one. */
async function* singles(stream: UpstreamStream): AsyncGenerator<readonly UpstreamStreamEvent[]> {
  for await (const event of stream) yield [event];
}

/** What the streaming caller receives: text as it comes, then one finish. */
export type StreamOut =
  | { type: 'delta'; content: string; candidate: Candidate }
  | {
      type: 'finish';
      finishReason: FinishReason;
      usage: TokenUsage;
      candidate: Candidate;
      index: number;
      /** The whole text the caller was sent (for the fallback cache). */
      content: string;
    };

/**
 * One request streamed to the caller. Before the first delta is yielded,
 * every failure can still fail over invisibly. After it, a broken or stalled
 * stream continues on a candidate that can continue a partial answer (the
 * text so far sent as an assistant prefill); when none can, the generator
 * throws a `stream_interrupted` error that names the original failure, and
 * the HTTP layer ends the stream with an in-band error and no [DONE].
 */
export async function* streamAnswer(deps: SessionDeps, input: SessionInput, ctx: AttemptContext): AsyncGenerator<StreamOut> {
  const { candidates } = input;
  let sent = '';
  let original: GatewayError | undefined;
  let failure: GatewayError | undefined;
  let i = 0;
  // A truncated stream may be continued once on the same candidate before moving on
  // (a retry of sorts: only when the candidate's retry policy allows more than one attempt).
  let sameCandidateContinuations = 0;
  while (i >= 0 && i < candidates.length) {
    const candidate = candidates[i]!;
    const guard = deps.guardFor(candidate);
    const messages: UpstreamMessage[] =
      sent === '' ? input.request.messages : [...input.request.messages, { role: 'assistant', content: sent }];
    const request: UpstreamRequest = { ...input.request, messages, model: candidate.upstreamModel, nativeJsonSchema: candidate.capabilities.jsonSchema };
    let opened: OpenAttempt<{ stream: UpstreamStream; first: UpstreamStreamEvent }> | undefined;
    // The breaker's verdict on this stream and its bulkhead slot wait for its end.
    let lease: UpstreamLease | undefined;
    try {
      opened = await openWithRetries(
        candidate,
        guard,
        ctx,
        (_a, signal, timeouts, headers) => openStream(candidate, request, signal, timeouts, headers, ctx),
        async (attempt, signal) => {
          const held = await guard.open(attempt, signal);
          lease = held.lease;
          return held.value;
        },
      );
    } catch (err) {
      const error = GatewayError.from(err);
      if (ctx.signal.aborted) throw error;
      if (sent !== '') {
        // A continuation the candidate rejected must not hide why we needed one.
        failure = error;
        i = nextCandidate(candidates, i + 1, { continuation: true });
        continue;
      }
      i = failoverIndex(candidates, i, error);
      failure = failure && error.kind === 'circuit_open' ? failure : error;
      continue;
    }

    const { stream, first } = opened.value;
    // The attempt is reported once, at the stream's end, with its outcome and whole duration.
    let attemptEnd: ((report: AttemptEnd) => void) | undefined = opened.end;
    const endAttempt = (report: AttemptEnd) => {
      attemptEnd?.(report);
      attemptEnd = undefined;
    };
    if (sent !== '') ctx.telemetry.continuation(candidates[0]!.name, candidate.name);
    const sentBefore = sent.length;
    // A model that never finishes: stopped at the cap, and not continued elsewhere (a prefill
    // that long fits no model's context).
    let capped: GatewayError | undefined;
    try {
      let event: UpstreamStreamEvent | undefined = first;
      const iterator = stream[Symbol.asyncIterator]();
      while (event) {
        if (event.type === 'delta') {
          if (event.content !== '') {
            sent += event.content;
            if (sent.length > MAX_ANSWER_SIZE) throw (capped = tooLong(candidate));
            yield { type: 'delta', content: event.content, candidate };
          }
        } else if (event.type === 'malformed') {
          ctx.telemetry.malformedChunk(candidate.name);
        } else {
          // The answer is complete: settle the upstream's verdict, stop the call's clocks and drain
          // the trailer now. A streaming caller stops reading at the finish and never resumes this
          // generator, so the `finally` below would not run, and the idle timer would fire on a
          // finished answer much later.
          lease?.succeed();
          stream.cancel();
          const usage = event.usage ?? estimateUsage(messages, sent);
          endAttempt({ outcome: 'success', facts: { finishReason: event.finishReason, usage } });
          yield { type: 'finish', finishReason: event.finishReason, usage, candidate, index: i, content: sent };
          return;
        }
        const next = await iterator.next();
        event = next.done ? undefined : next.value;
      }
      throw truncated(candidate, 'ended without a finish event');
    } catch (err) {
      const error = GatewayError.from(err);
      if (ctx.signal.aborted) {
        endAttempt({ outcome: 'aborted', error });
        throw error;
      }
      // A stream cut by the request's deadline says nothing about the model (blameDeadline).
      lease?.fail(blameDeadline(error, ctx) as GatewayError);
      // What this attempt streamed before breaking was paid for upstream (estimated at ~4 chars a token).
      const wastedTokens = Math.ceil((sent.length - sentBefore) / 4);
      ctx.spentTokens += wastedTokens;
      // The caller read more slowly than the model wrote (upstream/http.ts): not the model's
      // failure, and no other model would fare better. The caller gets it as it is.
      if (isCallerTooSlow(error)) {
        endAttempt({ outcome: 'aborted', error, wastedTokens });
        throw error;
      }
      endAttempt({ outcome: 'stream_error', error, wastedTokens });
      if (sent === '') {
        // Nothing reached the caller yet: an ordinary failover.
        failure = error;
        i = nextCandidate(candidates, i + 1, {});
        continue;
      }
      original ??= error;
      failure = error;
      if (error === capped) break;
      const retrySame =
        error.kind === 'stream_truncated' && candidate.capabilities.continuation && candidate.retry.maxAttempts > 1 && sameCandidateContinuations++ < 1;
      i = retrySame ? i : nextCandidate(candidates, i + 1, { continuation: true });
    } finally {
      // Still unreported: the caller stopped reading mid-answer (the generator was returned).
      endAttempt({ outcome: 'aborted' });
      lease?.release();
      stream.cancel();
    }
  }
  if (sent === '') throw finalError(failure, candidates[0]!);
  const cause = original ?? failure;
  const tail = failure && failure !== original ? `; continuing elsewhere failed too (${failure.message})` : '';
  throw new GatewayError({
    code: 'stream_interrupted',
    kind: 'stream_truncated',
    retryable: true,
    message: `The answer stream broke after partial output and could not be continued: ${cause?.message ?? 'unknown failure'}${tail}.`,
    cause,
  });
}

/**
 * Where to go after candidate `i` failed before any content reached the
 * caller: the next candidate (one with a larger context window after a
 * context-length failure), or -1 when none is left. Throws the error itself
 * when it must reach the caller as it is (decide() says surface, or no larger
 * window exists).
 */
function failoverIndex(candidates: readonly Candidate[], i: number, error: GatewayError): number {
  const decision = decide(error);
  if (decision === 'surface') throw error;
  if (decision !== 'failover-larger-context') return nextCandidate(candidates, i + 1, {});
  const next = nextCandidate(candidates, i + 1, { largerContextThan: candidates[i]!.contextWindow ?? 0 });
  if (next < 0) throw error;
  return next;
}

/** Opens an upstream stream and waits for its first event, so failures before any content stay invisible. */
async function openStream(
  candidate: Candidate,
  request: UpstreamRequest,
  signal: AbortSignal,
  timeouts: CallTimeouts,
  headers: Record<string, string> | undefined,
  ctx: AttemptContext,
): Promise<{ stream: UpstreamStream; first: UpstreamStreamEvent }> {
  const stream = await candidate.provider.stream(request, { signal, timeouts, headers });
  const iterator = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      if (next.value.type === 'malformed') {
        ctx.telemetry.malformedChunk(candidate.name);
        continue;
      }
      return { stream: resumable(stream, iterator), first: next.value };
    }
  } catch (err) {
    stream.cancel();
    throw err;
  }
  stream.cancel();
  throw truncated(candidate, 'ended before any content');
}

/** The same stream, iterated from where `iterator` left off. */
function resumable(stream: UpstreamStream, iterator: AsyncIterator<UpstreamStreamEvent>): UpstreamStream {
  return {
    id: stream.id,
    model: stream.model,
    rateLimit: stream.rateLimit,
    cancel: () => stream.cancel(),
    [Symbol.asyncIterator]: () => iterator,
  };
}

/** A stream that stopped short (retryable: another attempt may finish it). */
function truncated(candidate: Candidate, what: string): GatewayError {
  return new GatewayError({
    code: 'upstream_error',
    kind: 'stream_truncated',
    retryable: true,
    message: `The stream from model '${candidate.requested}' ${what}.`,
  });
}

function tooLong(candidate: Candidate): GatewayError {
  return new GatewayError({
    code: 'upstream_error',
    retryable: true,
    message: `The answer from model '${candidate.requested}' went past ${MAX_ANSWER_SIZE} characters without finishing.`,
  });
}

/** The error for a request no candidate could answer. */
function finalError(failure: GatewayError | undefined, primary: Candidate): GatewayError {
  if (failure && (failure.code === 'upstream_timeout' || failure.code === 'invalid_model_output')) return failure;
  return new GatewayError({
    code: 'upstream_unavailable',
    message: `No upstream could answer for model '${primary.requested}'${failure ? `: ${failure.message}` : ''}.`,
    retryAfterMs: failure?.retryAfterMs,
    cause: failure,
  });
}

/** About 4 characters per token, when an upstream did not report usage. */
export function estimateUsage(messages: readonly UpstreamMessage[], completion: string): TokenUsage {
  let chars = 0;
  for (const m of messages) chars += m.content.length;
  return { promptTokens: Math.ceil(chars / 4), completionTokens: Math.ceil(completion.length / 4) };
}
