import { GatewayError } from '@llmgw/resilience';
import type { ChatJobPayload, ChatRequestBody, ChatRoute } from '../chat/handler.ts';
import type { AttemptContext } from '../chat/attempts.ts';
import { candidatesFor, toUpstreamRequest } from '../chat/request.ts';
import { completeAnswer, type SessionDeps } from '../chat/session.ts';
import type { StructuredOutput } from '../chat/structured-output.ts';
import type { ChatTelemetry } from '../chat/telemetry.ts';
import { completionBody, type CompletionBody } from '../chat/wire.ts';
import type { TokenUsage } from '../upstream/types.ts';

export interface JobWorkerDeps {
  resolve(model: string): ChatRoute | undefined;
  session: SessionDeps;
  structured: StructuredOutput;
  telemetry: ChatTelemetry;
  /** As the chat handler's: per answering model and the route asked for. */
  onTokens(candidate: string, usage: TokenUsage, requested: string): void;
  /**
   * Charges the job's tokens to its key's rate limit and budget (the admission's `settle`):
   * a job runs later, outside the request that was admitted, and its upstream calls count too.
   */
  chargeTokens(keyId: string, tokens: number): unknown;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs a deferred chat request: the same candidates and checks as the
 * synchronous path, without degraded answers (a job that cannot get a real
 * answer fails and is retried by the queue with backoff).
 */
export function createJobProcessor(deps: JobWorkerDeps) {
  return async function processChatJob(payload: ChatJobPayload): Promise<CompletionBody> {
    const body: ChatRequestBody = payload.body;
    const route = deps.resolve(body.model);
    if (!route) throw new GatewayError({ code: 'model_not_found', message: `The model '${body.model}' is no longer served.` });
    const controller = new AbortController();
    const ctx: AttemptContext = {
      signal: controller.signal,
      deadline: deps.now() + route.timeouts.totalMs,
      telemetry: deps.telemetry,
      now: deps.now,
      sleep: deps.sleep,
      spentTokens: 0,
    };
    let answer;
    try {
      answer = await completeAnswer(
        deps.session,
        {
          candidates: candidatesFor(route, deps.resolve),
          request: toUpstreamRequest(body),
          output: await deps.structured.specFor(body.response_format),
        },
        ctx,
      );
    } catch (err) {
      if (ctx.spentTokens) deps.chargeTokens(payload.keyId, ctx.spentTokens);
      throw err;
    }
    deps.onTokens(answer.candidate.name, answer.usage, route.name);
    deps.chargeTokens(payload.keyId, answer.usage.promptTokens + answer.usage.completionTokens + ctx.spentTokens);
    return completionBody(
      `chatcmpl-${payload.requestId}`,
      answer.candidate.requested,
      answer.content,
      answer.finishReason,
      answer.usage,
      answer.index > 0 ? { strategy: 'alternative_model', degraded: false } : undefined,
    );
  };
}
