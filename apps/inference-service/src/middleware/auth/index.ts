import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '@llmgw/resilience';
import { requestHeader } from '@llmgw/server';
import type { KeyInfo } from './keys.ts';

declare module 'hono' {
  interface ContextVariableMap {
    caller: KeyInfo;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Bearer API keys: 401 when missing or unknown. Per-model permission (403) is checked by the route. */
export function bearerAuth(verify: (key: string) => KeyInfo | undefined): MiddlewareHandler {
  return async function bearerAuthMiddleware(c, next) {
    const header = requestHeader(c, 'authorization');
    const match = header ? BEARER.exec(header) : null;
    if (!match) throw unauthorized('Missing bearer API key in the Authorization header.');
    const caller = verify(match[1]!);
    if (!caller) throw unauthorized('Invalid API key.');
    c.set('caller', caller);
    await next();
  };
}

function unauthorized(message: string): GatewayError {
  return new GatewayError({ code: 'unauthorized', message });
}
