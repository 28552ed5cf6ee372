import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

declare module 'hono' {
  interface ContextVariableMap {
    requestId: string;
  }
}

// The contract's pattern for a caller-chosen id; anything else is replaced.
const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echoes a valid caller `x-request-id` or makes one, and sets it on every answer. */
export function requestId(): MiddlewareHandler {
  return async function requestIdMiddleware(c, next) {
    const given = c.req.header('x-request-id');
    const id = given && VALID_ID.test(given) ? given : randomUUID().replaceAll('-', '');
    c.set('requestId', id);
    // Set before the answer exists: Hono applies it when the response is built
    // (touching c.res.headers afterwards would materialise a Headers object per request).
    c.header('x-request-id', id);
    await next();
  };
}
