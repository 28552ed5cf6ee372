/**
 * The tracer that span helpers use. Kept in one place so `setupTracing` can
 * point it at its provider directly (no proxy hop) and reset it on shutdown.
 *
 * Before any setup this is the API's ProxyTracer: a no-op that still picks up
 * an SDK registered later by someone else.
 */
import { trace, type Tracer } from '@opentelemetry/api';

export const TRACER_NAME = '@llmgw/observability';

let current: Tracer = trace.getTracer(TRACER_NAME);

export function getTracer(): Tracer {
  return current;
}

/** Internal: set by setupTracing; `undefined` goes back to the global (proxy) tracer. */
export function setTracer(tracer: Tracer | undefined): void {
  current = tracer ?? trace.getTracer(TRACER_NAME);
}
