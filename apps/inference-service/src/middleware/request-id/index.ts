import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { requestHeader } from '@llmgw/server';

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
    const given = requestHeader(c, 'x-request-id');
    const id = given && VALID_ID.test(given) ? given : randomUUID().replaceAll('-', '');
    c.set('requestId', id);
    // On Node, on the Node response: Node merges it into whatever answer is written, and
    // the routes answer with their own headers (ownResponseHeaders in service.ts).
    // Elsewhere (app.request in tests, other runtimes), after the answer exists.
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (outgoing !== undefined) {
      outgoing.setHeader('x-request-id', id);
      await next();
    } else {
      await next();
      c.header('x-request-id', id);
    }
  };
}
