import { describe, expect, it } from 'vitest';
import { countsAsUpstreamFailure, decide, type Decision } from './classify.ts';
import { GatewayError, type GatewayErrorKind } from './errors.ts';

const http = (status: number, extra: Partial<ConstructorParameters<typeof GatewayError>[0]> = {}) =>
  GatewayError.fromStatus(status, { message: `HTTP ${status}`, ...extra });
const ofKind = (kind: GatewayErrorKind, retryable = true) =>
  new GatewayError({ code: 'upstream_error', message: kind, kind, retryable });

describe('classification table: HTTP statuses', () => {
  // [status, decide, countsAsUpstreamFailure]
  it.each<[number, Decision, boolean]>([
    [408, 'retry', true],
    [409, 'retry', false],
    [429, 'retry', false],
    [500, 'retry', true],
    [502, 'retry', true],
    [503, 'retry', true],
    [504, 'retry', true],
    [400, 'surface', false],
    [401, 'failover-now', false],
    [403, 'failover-now', false],
    [404, 'failover-now', false],
    [413, 'surface', false],
    [415, 'surface', false],
    [422, 'surface', false],
  ])('%i -> %s, breaker failure %s', (status, decision, failure) => {
    expect(decide(http(status))).toBe(decision);
    expect(countsAsUpstreamFailure(http(status))).toBe(failure);
  });

  it('429 counts for the breaker only when asked', () => {
    expect(countsAsUpstreamFailure(http(429), { rateLimitIsFailure: true })).toBe(true);
  });

  it('a retryable status made non-retryable by its creator fails over instead', () => {
    expect(decide(http(503, { retryable: false }))).toBe('failover-now');
  });
});

describe('classification table: kinds', () => {
  it.each<[GatewayErrorKind, Decision, boolean]>([
    ['network', 'retry', true],
    ['stream_truncated', 'retry', true],
    ['timeout_connect', 'retry', true],
    ['timeout_idle', 'retry', true],
    ['timeout_total', 'retry', true],
    ['timeout_first_token', 'failover-now', true],
    ['silent', 'failover-now', true],
    ['content_filter', 'surface', false],
    ['context_length', 'failover-larger-context', false],
    ['invalid_output', 'failover-now', false],
    ['circuit_open', 'failover-now', false],
    ['bulkhead', 'failover-now', false],
    ['aborted', 'surface', false],
  ])('%s -> %s, breaker failure %s', (kind, decision, failure) => {
    expect(decide(ofKind(kind))).toBe(decision);
    expect(countsAsUpstreamFailure(ofKind(kind))).toBe(failure);
  });

  it('a retry kind marked non-retryable fails over', () => {
    expect(decide(ofKind('network', false))).toBe('failover-now');
  });
});

describe('classification table: codes that are never retried', () => {
  it('context_length_exceeded is never retried on the same model, even if flagged retryable', () => {
    const e = new GatewayError({ code: 'context_length_exceeded', message: 'too long', retryable: true });
    expect(decide(e)).toBe('failover-larger-context');
    expect(countsAsUpstreamFailure(e)).toBe(false);
  });

  it('content_policy_violation is surfaced, whatever the kind or status', () => {
    for (const kind of ['http', 'content_filter', 'network'] as const) {
      const e = new GatewayError({ code: 'content_policy_violation', message: 'refused', kind, retryable: true, status: 503 });
      expect(decide(e)).toBe('surface');
    }
  });

  it('invalid_model_output fails over, invalid_request surfaces', () => {
    expect(decide(new GatewayError({ code: 'invalid_model_output', message: 'm' }))).toBe('failover-now');
    expect(decide(new GatewayError({ code: 'invalid_request', message: 'm', status: 500, retryable: true }))).toBe('surface');
  });

  it('circuit_open / bulkhead_rejected from a remote gateway (kind http) are retried', () => {
    expect(decide(http(503, { code: 'circuit_open' }))).toBe('retry');
    expect(decide(http(503, { code: 'bulkhead_rejected' }))).toBe('retry');
  });
});

describe('foreign throwables', () => {
  it('fetch TypeError is a network error: retry, counts', () => {
    expect(decide(new TypeError('fetch failed'))).toBe('retry');
    expect(countsAsUpstreamFailure(new TypeError('fetch failed'))).toBe(true);
  });
  it('aborts surface and never count', () => {
    const abort = new DOMException('stop', 'AbortError');
    expect(decide(abort)).toBe('surface');
    expect(countsAsUpstreamFailure(abort)).toBe(false);
    expect(countsAsUpstreamFailure(new DOMException('t', 'TimeoutError'))).toBe(false);
  });
  it('unknown errors are not retried but do count against the upstream', () => {
    expect(decide(new Error('bug'))).toBe('surface');
    expect(countsAsUpstreamFailure(new Error('bug'))).toBe(true);
    expect(decide(undefined)).toBe('surface');
  });
});
