import { toUpstreamMessages, type UpstreamMessage, type UpstreamRequest } from '../upstream/types.ts';
import type { ChatRequestBody, ChatRoute } from './handler.ts';
import type { Candidate } from './candidates.ts';

/** The primary route, then the alternative models of its fallback chain that the registry serves. */
export function candidatesFor(route: ChatRoute, resolve: (model: string) => ChatRoute | undefined): Candidate[] {
  const list: Candidate[] = [route];
  for (const step of route.fallback) {
    if (step.strategy !== 'alternative_model') continue;
    const alt = resolve(step.model);
    if (alt && !list.some((c) => c.name === alt.name && c.upstreamModel === alt.upstreamModel)) list.push({ ...alt, requested: step.model });
  }
  return list;
}

/** The provider-neutral upstream request for a validated API body (the model is set per candidate). */
export function toUpstreamRequest(body: ChatRequestBody, messages: UpstreamMessage[] = toUpstreamMessages(body.messages)): Omit<UpstreamRequest, 'model'> {
  const format = body.response_format;
  return {
    messages,
    temperature: body.temperature ?? 0.2,
    topP: body.top_p ?? undefined,
    maxTokens: minDefined(body.max_tokens ?? undefined, body.max_completion_tokens ?? undefined),
    stop: body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop],
    seed: body.seed ?? undefined,
    responseFormat:
      format?.type === 'json_schema'
        ? { type: 'json_schema', name: format.json_schema.name, schema: format.json_schema.schema, strict: format.json_schema.strict }
        : format,
    user: body.user,
  };
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
