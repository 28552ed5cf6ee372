/**
 * W3C Trace Context (`traceparent`/`tracestate`) in and out.
 *
 * Uses its own W3CTraceContextPropagator rather than the global one, so a
 * caller's trace id passes through to upstream calls even when tracing is off
 * (the API's no-op tracer keeps the remote parent's span context).
 */
import { context, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** Incoming headers: web `Headers` (Hono, fetch) or Node's `IncomingHttpHeaders`-like record. */
export type IncomingHeaders =
  | { get(name: string): string | null; keys(): Iterable<string> }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Outgoing headers: web `Headers` or a plain record that will be passed to fetch. */
export type OutgoingHeaders = { set(name: string, value: string): void } | Record<string, string>;

const propagator = new W3CTraceContextPropagator();

function isHeadersLike(carrier: object): carrier is { get(name: string): string | null; keys(): Iterable<string> } {
  return typeof (carrier as { get?: unknown }).get === 'function';
}

const headerGetter: TextMapGetter<IncomingHeaders> = {
  get(carrier, key) {
    if (isHeadersLike(carrier)) return carrier.get(key) ?? undefined;
    const direct = carrier[key];
    if (direct !== undefined) return direct as string | string[];
    // Plain records from non-Node sources may keep the sender's casing.
    for (const name in carrier) {
      if (name.toLowerCase() === key) return carrier[name] as string | string[] | undefined;
    }
    return undefined;
  },
  keys(carrier) {
    return isHeadersLike(carrier) ? [...carrier.keys()] : Object.keys(carrier);
  },
};

const headerSetter: TextMapSetter<OutgoingHeaders> = {
  set(carrier, key, value) {
    if (typeof carrier.set === 'function') (carrier as { set(k: string, v: string): void }).set(key, value);
    else (carrier as Record<string, string>)[key] = value;
  },
};

/** The context carried by an incoming request's `traceparent`, on top of `base` (default: the active context). */
export function extractContext(headers: IncomingHeaders, base: Context = context.active()): Context {
  return propagator.extract(base, headers, headerGetter);
}

/**
 * Writes `traceparent` (and `tracestate`) for the span in `ctx` (default: the active context)
 * into `headers` and returns the same object. Writes nothing when there is no valid span context.
 */
export function injectHeaders<H extends OutgoingHeaders>(headers: H, ctx: Context = context.active()): H {
  propagator.inject(ctx, headers, headerSetter);
  return headers;
}
