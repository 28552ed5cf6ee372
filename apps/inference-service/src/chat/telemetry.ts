/**
 * What the chat path reports as it goes. The service binds it to metrics,
 * traces and logs (../observability.ts); tests and benchmarks may pass
 * NO_TELEMETRY. Call sites pass plain values: no label work here.
 */
export interface AttemptReport {
  candidate: string;
  provider: string;
  /** 1-based attempt number on this candidate. */
  attempt: number;
  outcome: AttemptOutcome;
  durationMs: number;
  error?: unknown;
  /** Tokens the failed attempt consumed upstream, when known (never billed as a completion). */
  wastedTokens?: number;
}

export type AttemptOutcome =
  | 'success'
  | 'http_4xx'
  | 'http_429'
  | 'http_5xx'
  | 'timeout'
  | 'network'
  | 'stream_error'
  | 'circuit_open'
  | 'bulkhead'
  | 'invalid_output'
  | 'content_filter'
  | 'aborted';

export interface ChatTelemetry {
  attempt(report: AttemptReport): void;
  retry(candidate: string, reason: string): void;
  malformedChunk(candidate: string): void;
  /** `output` is for its length and hash only: implementations must never log it. */
  structuredInvalid(candidate: string, output: string, error: string): void;
  repair(candidate: string, result: 'fixed' | 'failed'): void;
  /** A stream continued on another candidate after content was sent. */
  continuation(from: string, to: string): void;
}

export const NO_TELEMETRY: ChatTelemetry = {
  attempt() {},
  retry() {},
  malformedChunk() {},
  structuredInvalid() {},
  repair() {},
  continuation() {},
};
