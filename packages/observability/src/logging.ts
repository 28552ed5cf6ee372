/**
 * Structured JSON logs (pino) that never carry secrets, and carry prompt or
 * completion text only behind an explicit debug switch.
 */
import { createHash } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import { LineBatcher } from './line-batcher.ts';

/** Header and field names whose values are secrets, wherever they appear. */
export const SECRET_KEYS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apiKey',
  'api_key',
];

/** How deep below the log object's top level secrets are looked for (`req.headers.authorization` is depth 2). */
export const REDACT_MAX_DEPTH = 3;

export const REDACTED = '[Redacted]';

/** The environment switch for content logging: `LLM_LOG_CONTENT=1`. */
export const CONTENT_LOGGING_ENV = 'LLM_LOG_CONTENT';

/** Read once at start-up; per-request code must not touch process.env. */
const CONTENT_LOGGING_FROM_ENV = process.env[CONTENT_LOGGING_ENV] === '1';

/** Carried on the root logger; pino children inherit it through their prototype. */
const CONTENT_LOGGING = Symbol.for('@llmgw/observability.contentLogging');

export interface LoggerOptions {
  /** Minimum level. Default: `LOG_LEVEL` env, else 'info'. */
  level?: string;
  /** Allow prompt/completion text through `contentFields`. Default: `LLM_LOG_CONTENT=1`. */
  debugContent?: boolean;
  /**
   * Where JSON lines go. Default: stdout through an asynchronous buffered
   * SonicBoom (a blocking write per line cost a fifth of the gateway's CPU),
   * flushed synchronously when the process exits.
   */
  destination?: DestinationStream;
  /** `name` field on every line. Default: none. */
  name?: string;
}

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) {
    const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
    let prefix = '';
    for (let depth = 0; depth <= REDACT_MAX_DEPTH; depth++) {
      paths.push(depth === 0 ? segment.replace(/^\./, '') : `${prefix}${segment}`);
      prefix = prefix === '' ? '*' : `${prefix}.*`;
    }
  }
  return paths;
}

/** The redaction paths, compiled by pino once per logger. */
export const REDACT_PATHS: readonly string[] = redactPaths();

export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
      ...(options.name !== undefined ? { name: options.name } : {}),
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      // Level names instead of numbers: readable, and what most log pipelines expect.
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? bufferedStdout(),
  );
  Object.defineProperty(logger, CONTENT_LOGGING, { value: options.debugContent ?? CONTENT_LOGGING_FROM_ENV });
  return logger;
}

let stdout: LineBatcher | undefined;

/** Longest a log line waits in the buffer: lines reach stdout in bursts, never late. */
const FLUSH_INTERVAL_MS = 200;

/**
 * Characters of log lines gathered before a write. Each write goes through libuv's thread
 * pool, and waking a pool thread is dear on a VM: with 4 KiB (a write every ~12 request
 * lines) the dispatch alone was 1 % of the service's CPU in a perf profile. Below
 * sonic-boom's maxWrite (16 KiB), so a batch is one write.
 */
const BATCH_CHARS = 12 * 1024;

/**
 * Most bytes of log lines waiting for stdout. A stdout that stops taking them (a blocked pipe,
 * a stalled collector) would otherwise grow the process without bound (327 MB after 200 000
 * lines in the review's reproduction); past this, lines are dropped. Logs are not worth the
 * service.
 */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * One buffered stdout stream per process: lines are written in BATCH_CHARS batches
 * under load (one write per line cost a system call each), flushed at least every
 * FLUSH_INTERVAL_MS so a quiet process still shows its lines at once, and on exit.
 * The batches are gathered by LineBatcher (line-batcher.ts says why not by sonic-boom
 * alone); sonic-boom writes each one, asynchronously.
 */
function bufferedStdout(): DestinationStream {
  if (stdout) return stdout;
  const dest = pino.destination({ dest: 1, sync: false, minLength: BATCH_CHARS, maxLength: MAX_PENDING_BYTES });
  const batcher = new LineBatcher(dest, BATCH_CHARS);
  // sonic-boom keeps its own byte count in `_len` (no public accessor): lines it still holds
  // (a batch smaller than minLength, handed over by an earlier flush while a write was running).
  const held = () => (dest as unknown as { _len?: number })._len ?? 1;
  setInterval(() => {
    if (batcher.pending > 0 || held() > 0) batcher.flush();
  }, FLUSH_INTERVAL_MS).unref();
  process.once('exit', () => {
    try {
      batcher.flushSync();
    } catch {
      // stdout already closed: nothing more can be written anyway.
    }
  });
  stdout = batcher;
  return batcher;
}

/**
 * Resolves once the lines logged so far are written (or after `timeoutMs`, so a blocked stdout
 * cannot hold a shutdown). Await it before `process.exit`: the exit's synchronous flush would
 * otherwise write the last lines before a batch still queued for libuv's thread pool.
 */
export function flushLogs(logger: Logger, timeoutMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A child of `logger` without redaction, for the one line per request whose
 * fields come from `requestLogFields` (a fixed list that can hold no secret).
 * Redaction with wildcard paths costs ~60 µs a line; this costs ~2 µs.
 * Never log anything else through it.
 */
export function requestLineLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [] } }) as unknown as Logger;
}

/** Whether `contentFields` lets text through for this logger (or its children). */
export function isContentLoggingEnabled(logger?: Logger): boolean {
  if (logger === undefined) return CONTENT_LOGGING_FROM_ENV;
  const flag = (logger as unknown as Record<symbol, unknown>)[CONTENT_LOGGING];
  return typeof flag === 'boolean' ? flag : CONTENT_LOGGING_FROM_ENV;
}

export interface RequestLogInput {
  requestId?: string;
  traceId?: string;
  /** An API key *identifier* (see `keyFingerprint`), never the key. */
  keyId?: string;
  model?: string;
  status?: number;
  latencyMs?: number;
  tokens?: { prompt?: number; completion?: number };
  fallbackStrategy?: string;
}

export interface RequestLogFields {
  requestId?: string;
  traceId?: string;
  keyId?: string;
  model?: string;
  status?: number;
  latencyMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  fallbackStrategy?: string;
}

/**
 * The fields of the one log line per request, flat and from a fixed list, so nothing else
 * (a body, a header) can slip in. Undefined inputs are left out; latency is rounded to 0.1 ms.
 */
export function requestLogFields(input: RequestLogInput): RequestLogFields {
  const fields: RequestLogFields = {};
  if (input.requestId !== undefined) fields.requestId = input.requestId;
  if (input.traceId !== undefined) fields.traceId = input.traceId;
  if (input.keyId !== undefined) fields.keyId = input.keyId;
  if (input.model !== undefined) fields.model = input.model;
  if (input.status !== undefined) fields.status = input.status;
  if (input.latencyMs !== undefined) fields.latencyMs = Math.round(input.latencyMs * 10) / 10;
  if (input.tokens?.prompt !== undefined) fields.promptTokens = input.tokens.prompt;
  if (input.tokens?.completion !== undefined) fields.completionTokens = input.tokens.completion;
  if (input.fallbackStrategy !== undefined) fields.fallbackStrategy = input.fallbackStrategy;
  return fields;
}

/** A stable, non-reversible id for an API key: "key_" + 12 hex of its SHA-256. Cache it per key. */
export function keyFingerprint(apiKey: string): string {
  return `key_${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`;
}

export interface InvalidOutputDescription {
  length: number;
  /** First 16 hex characters of the SHA-256 of the text: enough to correlate, not to read. */
  sha256: string;
  /** The validation error, with any quoted excerpt of the text removed. */
  error: string;
}

/** Describes invalid model output by length, hash and validation error, never by content. */
export function describeInvalidOutput(text: string, validationError: unknown): InvalidOutputDescription {
  return {
    length: text.length,
    sha256: createHash('sha256').update(text).digest('hex').slice(0, 16),
    error: describeValidationError(validationError),
  };
}

const MAX_ERROR_LENGTH = 300;
const MAX_LISTED_ERRORS = 5;
// JSON.parse messages quote the input (`Unexpected token 'h', "hello" is not valid JSON`);
// the closing quote may be missing when V8 truncates the excerpt.
const DOUBLE_QUOTED = /"(?:[^"\\]|\\.)*"?/g;
const LONG_SINGLE_QUOTED = /'[^']{4,}'/g;

function scrub(message: string): string {
  const cleaned = message.replace(DOUBLE_QUOTED, '"…"').replace(LONG_SINGLE_QUOTED, "'…'");
  return cleaned.length > MAX_ERROR_LENGTH ? `${cleaned.slice(0, MAX_ERROR_LENGTH)}…` : cleaned;
}

interface ErrorObjectLike {
  instancePath?: string;
  keyword?: string;
  message?: string;
}

function describeErrorList(errors: readonly ErrorObjectLike[]): string {
  const listed = errors
    .slice(0, MAX_LISTED_ERRORS)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword ?? 'invalid'}`)
    .join('; ');
  const more = errors.length > MAX_LISTED_ERRORS ? ` (+${errors.length - MAX_LISTED_ERRORS} more)` : '';
  return scrub(listed + more);
}

/** Ajv error arrays, Ajv ValidationErrors, Errors (e.g. from JSON.parse) and strings, as one safe line. */
export function describeValidationError(error: unknown): string {
  if (typeof error === 'string') return scrub(error);
  if (Array.isArray(error)) return describeErrorList(error as ErrorObjectLike[]);
  if (error !== null && typeof error === 'object') {
    const nested = (error as { errors?: unknown }).errors;
    if (Array.isArray(nested)) return describeErrorList(nested as ErrorObjectLike[]);
    if (error instanceof Error) return scrub(`${error.name}: ${error.message}`);
  }
  return 'unknown validation error';
}

export interface ContentFields {
  prompt?: unknown;
  completion?: unknown;
}

const NO_CONTENT: ContentFields = Object.freeze({});

/**
 * Prompt and completion for a debug log line, or `{}` unless content logging is on.
 * `debug`: a logger from `createLogger` (uses its `debugContent`), a boolean, or omitted (`LLM_LOG_CONTENT=1`).
 */
export function contentFields(messages: unknown, completion: unknown, debug?: Logger | boolean): ContentFields {
  const enabled = typeof debug === 'boolean' ? debug : isContentLoggingEnabled(debug);
  return enabled ? { prompt: messages, completion } : NO_CONTENT;
}
