/**
 * One chat exchange (OpenAI or Anthropic), from body to last byte, with the
 * scenario's faults applied. Format differences live in `wire-format.ts`;
 * this module only decides what to send and when.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NORMAL_ANSWER, SchemaUnusableError, type Answer, type AnswerCache, type AnswerVariant } from './answer.ts';
import { InvalidRequestError, parseAnthropicRequest, parseOpenAiRequest, type ChatRequest } from './chat-request.ts';
import type { FaultPlan, FaultPlanner } from './fault-planner.ts';
import { readBody, waitUnlessClosed } from './http-util.ts';
import type { RateLimitTracker } from './rate-limit.ts';
import type { AttemptRecord, Recorder } from './recorder.ts';
import type { FaultRule } from './scenario.ts';
import { JSON_CONTENT_TYPE, SSE_CONTENT_TYPE, type ErrorDetails, type Exchange, type WireFormatter } from './wire-format.ts';

/** Content chunks sent before stream_cut / stream_stall / malformed_chunk act, unless the rule says otherwise. */
export const DEFAULT_AFTER_CHUNKS = 2;
/** Share of the answer kept by content_filter, unless the rule says otherwise. */
export const DEFAULT_CONTENT_FILTER_KEEP = 0.5;
/** Context sizes quoted in context_length_exceeded messages. */
const CONTEXT_LIMIT = { openai: 128_000, anthropic: 200_000 } as const;

export interface ChatHandlerDeps {
  readonly planner: FaultPlanner;
  readonly recorder: Recorder;
  readonly answers: AnswerCache;
  readonly rateLimits: RateLimitTracker;
  readonly now: () => number;
  readonly apiKey: string | undefined;
  readonly maxBodyBytes: number;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Does the request carry the configured key, the way each API expects it? */
function authorized(req: IncomingMessage, wire: WireFormatter, apiKey: string): boolean {
  const bearer = headerValue(req, 'authorization');
  if (bearer === `Bearer ${apiKey}`) return true;
  return wire.format === 'anthropic' && headerValue(req, 'x-api-key') === apiKey;
}

function variantFor(fault: FaultRule | undefined): AnswerVariant {
  if (!fault) return NORMAL_ANSWER;
  switch (fault.kind) {
    case 'content_filter':
      return { kind: 'content_filter', keepFraction: fault.keep_fraction ?? DEFAULT_CONTENT_FILTER_KEEP };
    case 'invalid_json':
    case 'truncated_json':
    case 'schema_violation':
      return { kind: fault.kind };
    default:
      return NORMAL_ANSWER;
  }
}

function retryAfterHeaders(rule: { retry_after_s?: number; retry_after_ms?: number }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (rule.retry_after_s !== undefined) headers['retry-after'] = String(rule.retry_after_s);
  if (rule.retry_after_ms !== undefined) headers['retry-after-ms'] = String(rule.retry_after_ms);
  return headers;
}

export function createChatHandler(deps: ChatHandlerDeps) {
  const { planner, recorder, answers, rateLimits, now, apiKey, maxBodyBytes } = deps;

  /** Write the status line + headers and note it in the record. */
  function writeHead(res: ServerResponse, record: AttemptRecord, status: number, headers: Record<string, string>): void {
    record.status = status;
    record.respondedAt = now();
    res.writeHead(status, headers);
  }

  function sendError(
    res: ServerResponse,
    record: AttemptRecord,
    wire: WireFormatter,
    status: number,
    details: ErrorDetails,
    extraHeaders?: Record<string, string>,
  ): void {
    const body = wire.errorBody(status, details, record.requestId);
    const requestIdHeader = wire.format === 'openai' ? 'x-request-id' : 'request-id';
    writeHead(res, record, status, {
      ...extraHeaders,
      [requestIdHeader]: record.requestId,
      'content-type': JSON_CONTENT_TYPE,
      'content-length': String(Buffer.byteLength(body)),
    });
    record.outcome = 'error';
    res.end(body);
  }

  /** Faults answered with an error status instead of an answer; returns true when one was sent. */
  function sendFaultError(res: ServerResponse, record: AttemptRecord, wire: WireFormatter, fault: FaultRule, request: ChatRequest): boolean {
    const openai = wire.format === 'openai';
    switch (fault.kind) {
      case 'status': {
        const headers = { ...retryAfterHeaders(fault), ...fault.headers };
        if (fault.status === 429 && openai) headers['x-ratelimit-remaining-requests'] = '0';
        sendError(res, record, wire, fault.status, { message: fault.message, type: fault.type, code: fault.code }, headers);
        return true;
      }
      case 'outage':
        sendError(res, record, wire, fault.status ?? 503, { message: 'The service is temporarily unavailable (simulated outage).' }, retryAfterHeaders(fault));
        return true;
      case 'context_length_exceeded': {
        const limit = CONTEXT_LIMIT[wire.format];
        const tokens = Math.max(request.promptTokens, limit + 1);
        const message =
          fault.message ??
          (openai
            ? `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`
            : `prompt is too long: ${tokens} tokens > ${limit} maximum`);
        sendError(res, record, wire, 400, { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' });
        return true;
      }
      case 'content_policy':
        sendError(res, record, wire, 400, {
          message:
            fault.message ??
            (openai ? 'Your request was rejected as a result of our safety system.' : 'Output blocked by content filtering policy.'),
          type: 'invalid_request_error',
          param: null,
          code: 'content_policy_violation',
        });
        return true;
      case 'refuse_prefill':
        sendError(res, record, wire, 400, {
          message: fault.message ?? 'This model does not support assistant message prefill. The conversation must end with a user message.',
          type: 'invalid_request_error',
          param: 'messages',
          code: 'invalid_request_error',
        });
        return true;
      default:
        return false;
    }
  }

  /** Non-streamed answer, possibly cut, stalled, garbled or delayed. */
  async function sendCompletion(
    res: ServerResponse,
    record: AttemptRecord,
    wire: WireFormatter,
    headers: Record<string, string>,
    exchange: Exchange,
    answer: Answer,
    plan: FaultPlan,
  ): Promise<void> {
    let body = wire.completionBody(exchange, answer);
    const kind = plan.fault?.kind;
    if (kind === 'malformed_chunk') {
      const half = Math.floor(body.length / 2);
      // A quote then a raw newline: invalid whether the cut lands inside a string or between tokens.
      body = `${body.slice(0, half)}"\n<<garbled>>${body.slice(half)}`;
    }
    const bytes = Buffer.from(body);
    const head = { ...headers, 'content-type': JSON_CONTENT_TYPE, 'content-length': String(bytes.length) };
    if (kind === 'stream_cut' || kind === 'stream_stall') {
      writeHead(res, record, 200, head);
      const partial = bytes.subarray(0, Math.floor(bytes.length / 2));
      if (kind === 'stream_cut') {
        record.outcome = 'cut';
        res.write(partial, () => res.socket?.destroy());
      } else {
        record.outcome = 'stalled';
        res.write(partial);
      }
      return;
    }
    writeHead(res, record, 200, head);
    if (plan.firstTokenDelayMs > 0) {
      res.flushHeaders();
      if (!(await waitUnlessClosed(plan.firstTokenDelayMs, res))) return;
    }
    record.outcome = 'ok';
    res.end(bytes);
  }

  /** Streamed answer: frames written at once, or paced when a delay applies. */
  async function sendStream(
    res: ServerResponse,
    record: AttemptRecord,
    wire: WireFormatter,
    headers: Record<string, string>,
    exchange: Exchange,
    answer: Answer,
    plan: FaultPlan,
  ): Promise<void> {
    const fault = plan.fault;
    const frames = wire.streamFrames(exchange);
    const pieces = answer.pieceJson;
    const afterChunks =
      fault && (fault.kind === 'stream_cut' || fault.kind === 'stream_stall' || fault.kind === 'malformed_chunk')
        ? Math.min(fault.after_chunks ?? DEFAULT_AFTER_CHUNKS, pieces.length)
        : pieces.length;
    // steps[0] is the head; each later step is one content frame (per-token pacing applies between them).
    const steps: string[] = [frames.head];
    for (let i = 0; i < afterChunks; i++) steps.push(frames.piece(pieces[i]!));
    let ending: 'end' | 'cut' | 'stall' = 'end';
    if (fault?.kind === 'stream_cut') ending = 'cut';
    else if (fault?.kind === 'stream_stall') ending = 'stall';
    else {
      if (fault?.kind === 'malformed_chunk') steps.push(frames.malformed(fault.payload));
      for (let i = afterChunks; i < pieces.length; i++) steps.push(frames.piece(pieces[i]!));
    }
    const tail = ending === 'end' ? frames.tail(answer, fault?.kind !== 'no_done') : '';

    writeHead(res, record, 200, { ...headers, 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache' });
    const paced = plan.perTokenMs > 0 || plan.firstTokenDelayMs > 0;
    if (!paced) {
      finishStream(res, record, steps.join(''), tail, ending);
      return;
    }
    res.flushHeaders();
    if (!(await waitUnlessClosed(plan.firstTokenDelayMs, res))) return;
    res.write(steps[0]!);
    for (let i = 1; i < steps.length; i++) {
      if (!(await waitUnlessClosed(plan.perTokenMs, res))) return;
      res.write(steps[i]!);
    }
    finishStream(res, record, '', tail, ending);
  }

  function finishStream(res: ServerResponse, record: AttemptRecord, body: string, tail: string, ending: 'end' | 'cut' | 'stall'): void {
    if (ending === 'end') {
      record.outcome = 'ok';
      res.end(body + tail);
    } else if (ending === 'cut') {
      record.outcome = 'cut';
      // Destroy only once the bytes reached the socket, so the client sees them before the cut.
      if (body === '') res.socket?.destroy();
      else res.write(body, () => res.socket?.destroy());
    } else {
      record.outcome = 'stalled';
      if (body !== '') res.write(body);
    }
  }

  return async function handleChat(req: IncomingMessage, res: ServerResponse, wire: WireFormatter): Promise<void> {
    const receivedAt = now();
    const seq = recorder.nextSeq();
    const requestId = wire.requestId(seq);
    let text: string;
    try {
      text = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (!res.headersSent && !res.destroyed) {
        const status = (error as { status?: number }).status ?? 400;
        res.writeHead(status, { 'content-type': JSON_CONTENT_TYPE });
        res.end(wire.errorBody(status, { message: (error as Error).message }, requestId));
      }
      return;
    }
    let body: unknown;
    let jsonError = false;
    try {
      body = JSON.parse(text);
    } catch {
      jsonError = true;
    }
    const json = isRecord(body) ? body : {};
    const messages = Array.isArray(json['messages']) ? json['messages'] : [];
    const last: unknown = messages[messages.length - 1];
    const traceparent = headerValue(req, 'traceparent');
    const record: AttemptRecord = {
      seq,
      model: typeof json['model'] === 'string' ? json['model'] : '',
      format: wire.format,
      stream: json['stream'] === true,
      receivedAt,
      attempt: 0,
      requestId,
      authorization: req.headers['authorization'] !== undefined || req.headers['x-api-key'] !== undefined,
      messages: messages.length,
      ...(traceparent !== undefined && { traceparent }),
      ...(isRecord(last) && typeof last['role'] === 'string' && { lastMessageRole: last['role'] }),
    };
    recorder.add(record);
    res.once('close', () => {
      record.endedAt = now();
      if (record.outcome === undefined || (record.outcome === 'ok' && !res.writableFinished)) record.outcome = 'client_closed';
    });

    if (apiKey !== undefined && !authorized(req, wire, apiKey)) {
      sendError(res, record, wire, 401, {
        message: wire.format === 'openai' ? 'Incorrect API key provided.' : 'invalid x-api-key',
        code: 'invalid_api_key',
      });
      return;
    }
    if (jsonError) {
      sendError(res, record, wire, 400, {
        message: 'We could not parse the JSON body of your request. Please send valid JSON.',
        type: 'invalid_request_error',
      });
      return;
    }
    if (wire.format === 'anthropic' && headerValue(req, 'anthropic-version') === undefined) {
      sendError(res, record, wire, 400, { message: 'anthropic-version: header is required', type: 'invalid_request_error' });
      return;
    }
    let request: ChatRequest;
    try {
      request = wire.format === 'openai' ? parseOpenAiRequest(body) : parseAnthropicRequest(body);
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      sendError(res, record, wire, error.status, { message: error.message, param: error.param, code: error.code, type: 'invalid_request_error' });
      return;
    }

    const plan = planner.plan({
      model: request.model,
      format: request.format,
      stream: request.stream,
      structured: request.structured !== undefined,
      prefill: request.prefill !== undefined,
    });
    record.attempt = plan.attempt;
    if (plan.fault) record.fault = plan.fault.kind;
    else if (plan.latencyMs > 0 || plan.perTokenMs > 0) record.fault = 'latency';
    if (plan.latencyMs > 0) {
      record.latencyMs = plan.latencyMs;
      if (!(await waitUnlessClosed(plan.latencyMs, res))) return;
    }

    const fault = plan.fault;
    if (fault?.kind === 'reset') {
      record.outcome = 'reset';
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'hang') {
      record.outcome = 'hang'; // the socket stays open until the client gives up or the server closes
      return;
    }
    if (fault && sendFaultError(res, record, wire, fault, request)) return;

    let answer: Answer;
    try {
      answer = answers.get(request, variantFor(fault));
    } catch (error) {
      if (!(error instanceof SchemaUnusableError)) throw error;
      const param = wire.format === 'openai' ? 'response_format.json_schema.schema' : 'output_format.schema';
      sendError(res, record, wire, 400, { message: `${param}: ${error.message}`, param, type: 'invalid_request_error' });
      return;
    }
    const limits = rateLimits.take(request.model, request.promptTokens + answer.completionTokens);
    const headers = wire.commonHeaders(requestId, limits);
    const exchange: Exchange = {
      seq,
      requestId,
      created: Math.floor(now() / 1000),
      model: request.model,
      promptTokens: request.promptTokens,
      includeUsage: request.includeUsage,
    };
    if (request.stream) await sendStream(res, record, wire, headers, exchange, answer, plan);
    else await sendCompletion(res, record, wire, headers, exchange, answer, plan);
  };
}
