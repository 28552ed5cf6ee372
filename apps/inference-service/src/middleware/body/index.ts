import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '@llmgw/resilience';
import { requestHeader } from '@llmgw/server';

export interface BodyOptions {
  /** Largest accepted body in bytes (413 beyond). Default 1 MiB. */
  limitBytes?: number;
  /** Time allowed for the whole body to arrive (408 beyond). Default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_LIMIT_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
// fatal: invalid UTF-8 is a 400, not silently replaced characters.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a request body once, bounded in size and time, straight from Node's
 * IncomingMessage (no web-stream conversion), and leaves it in Hono's body
 * cache so `c.req.text()`/`json()` downstream reuse it. Oversized bodies get
 * 413 before they are read when Content-Length says so; slow bodies get 408.
 */
export function boundedBody(options: BodyOptions = {}): MiddlewareHandler {
  const limit = options.limitBytes ?? DEFAULT_LIMIT_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async function boundedBodyMiddleware(c, next) {
    const declared = Number(requestHeader(c, 'content-length') ?? NaN);
    if (declared > limit) throw tooLarge(limit);
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const text = incoming ? await readIncoming(incoming, limit, timeoutMs) : await readWeb(c.req.raw, limit, timeoutMs);
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    await next();
  };
}

function readIncoming(incoming: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => done(slowBody(timeoutMs)), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return done(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => {
      try {
        done(undefined, decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      } catch (err) {
        done(err as GatewayError);
      }
    };
    const onError = (err: Error) => done(new GatewayError({ code: 'invalid_request', message: `The request body could not be read: ${err.message}`, cause: err }));
    function done(err?: GatewayError, text?: string) {
      clearTimeout(timer);
      incoming.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) {
        // Stop reading: the rest of an oversized or stalled body is not wanted.
        incoming.pause();
        reject(err);
      } else resolve(text as string);
    }
    incoming.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

async function readWeb(request: Request, limit: number, timeoutMs: number): Promise<string> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(slowBody(timeoutMs)), timeoutMs);
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw tooLarge(limit);
      chunks.push(value);
    }
  } catch (err) {
    void reader.cancel().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return decode(Buffer.concat(chunks, size));
}

function decode(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new GatewayError({ code: 'invalid_request', message: 'The request body is not valid UTF-8.' });
  }
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError({ code: 'payload_too_large', message: `The request body is over the ${limit}-byte limit.` });
}

function slowBody(timeoutMs: number): GatewayError {
  return new GatewayError({ code: 'request_timeout', message: `The request body was not received within ${Math.round(timeoutMs / 1000)}s.` });
}
