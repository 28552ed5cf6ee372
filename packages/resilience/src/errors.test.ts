import { describe, expect, it } from 'vitest';
import {
  GATEWAY_ERROR_CODES,
  GatewayError,
  abortedError,
  isGatewayError,
  isGatewayErrorCode,
  timeoutError,
} from './errors.ts';
import { GATEWAY_ERROR_BRAND } from './brand.ts';

describe('GatewayError', () => {
  it('fills status, type and retryable from the code row', () => {
    const e = new GatewayError({ code: 'rate_limit_exceeded', message: 'slow down', retryAfterMs: 2000 });
    expect(e).toMatchObject({
      status: 429,
      code: 'rate_limit_exceeded',
      type: 'rate_limit_error',
      retryable: true,
      retryAfterMs: 2000,
      param: null,
      kind: 'http',
      name: 'GatewayError',
      message: 'slow down',
    });
    expect(e).toBeInstanceOf(Error);
  });

  it('explicit fields win over the table', () => {
    const e = new GatewayError({ code: 'upstream_error', message: 'x', status: 500, retryable: false, kind: 'network' });
    expect([e.status, e.retryable, e.kind]).toEqual([500, false, 'network']);
  });

  it('keeps cause and requestId', () => {
    const cause = new Error('socket hang up');
    const e = new GatewayError({ code: 'upstream_unavailable', message: 'm', cause, requestId: 'req_1' });
    expect(e.cause).toBe(cause);
    expect(e.requestId).toBe('req_1');
    expect('cause' in new GatewayError({ code: 'internal_error', message: 'm' })).toBe(false);
  });

  it('toEnvelope returns exactly the contract envelope', () => {
    const e = new GatewayError({ code: 'unprocessable_entity', message: 'bad schema', param: 'response_format' });
    expect(e.toEnvelope()).toEqual({
      error: { code: 'unprocessable_entity', message: 'bad schema', type: 'invalid_request_error', param: 'response_format' },
    });
  });

  it('toJSON leaves out the cause (it may carry upstream text)', () => {
    const e = new GatewayError({ code: 'upstream_error', message: 'm', cause: new Error('secret body') });
    expect(JSON.stringify(e)).not.toContain('secret body');
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({ code: 'upstream_error', status: 502 });
  });

  it('every contract code has a table row', () => {
    for (const code of GATEWAY_ERROR_CODES) {
      const e = new GatewayError({ code, message: code });
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect(typeof e.retryable).toBe('boolean');
    }
  });
});

describe('isGatewayError', () => {
  it('checks the brand, not the prototype chain', () => {
    const real = new GatewayError({ code: 'internal_error', message: 'm' });
    expect(isGatewayError(real)).toBe(true);
    // A GatewayError from another copy of the package: same Symbol.for brand.
    const foreign = Object.assign(new Error('m'), { [Symbol.for('@llmgw/resilience.GatewayError')]: true });
    expect(isGatewayError(foreign)).toBe(true);
    expect(real[GATEWAY_ERROR_BRAND]).toBe(true);
  });

  it('rejects look-alikes and non-objects', () => {
    expect(isGatewayError(new Error('x'))).toBe(false);
    expect(isGatewayError({ status: 500, code: 'internal_error', retryable: true })).toBe(false);
    expect(isGatewayError(null)).toBe(false);
    expect(isGatewayError('GatewayError')).toBe(false);
    expect(isGatewayError(undefined)).toBe(false);
  });
});

describe('GatewayError.fromStatus', () => {
  it.each([
    [400, 'invalid_request', false],
    [401, 'unauthorized', false],
    [403, 'forbidden', false],
    [404, 'model_not_found', false],
    [408, 'request_timeout', true],
    [409, 'upstream_error', true],
    [413, 'payload_too_large', false],
    [415, 'unsupported_media_type', false],
    [422, 'unprocessable_entity', false],
    [429, 'rate_limit_exceeded', true],
    [500, 'internal_error', true],
    [502, 'upstream_error', true],
    [503, 'upstream_unavailable', true],
    [504, 'upstream_timeout', true],
    [529, 'upstream_error', true],
    [418, 'invalid_request', false],
  ] as const)('%i -> %s, retryable %s', (status, code, retryable) => {
    const e = GatewayError.fromStatus(status, { message: `HTTP ${status}` });
    expect([e.status, e.code, e.retryable, e.kind]).toEqual([status, code, retryable, 'http']);
  });

  it('reads retryAfterMs from headers', () => {
    const e = GatewayError.fromStatus(429, { message: 'm', headers: new Headers({ 'retry-after': '3' }) });
    expect(e.retryAfterMs).toBe(3000);
    expect(GatewayError.fromStatus(429, { message: 'm' }).retryAfterMs).toBeUndefined();
  });

  it('reads the rate-limit reset headers as a wait only on a 429: on a 5xx they describe a quota the failure did not touch', () => {
    const headers = new Headers({ 'x-ratelimit-reset-tokens': '42s', 'x-ratelimit-remaining-tokens': '0' });
    expect(GatewayError.fromStatus(429, { message: 'm', headers }).retryAfterMs).toBe(42_000);
    expect(GatewayError.fromStatus(503, { message: 'm', headers }).retryAfterMs).toBeUndefined();
    // An explicit Retry-After still counts on a 5xx.
    headers.set('retry-after', '2');
    expect(GatewayError.fromStatus(503, { message: 'm', headers }).retryAfterMs).toBe(2000);
  });

  it('a given code keeps its own never-retry rule', () => {
    const e = GatewayError.fromStatus(400, { code: 'content_policy_violation', message: 'refused' });
    expect([e.code, e.retryable, e.type]).toEqual(['content_policy_violation', false, 'invalid_request_error']);
    const budget = GatewayError.fromStatus(429, { code: 'token_budget_exceeded', message: 'm' });
    expect(budget.retryable).toBe(true);
  });

  it('explicit retryable overrides (x-should-retry)', () => {
    expect(GatewayError.fromStatus(503, { message: 'm', retryable: false }).retryable).toBe(false);
  });
});

describe('GatewayError.fromEnvelope', () => {
  it('round-trips toEnvelope', () => {
    const original = new GatewayError({ code: 'circuit_open', message: 'open', param: null });
    const back = GatewayError.fromEnvelope(503, original.toEnvelope(), { 'retry-after': '5' }, 'req_9');
    expect(back.toEnvelope()).toEqual(original.toEnvelope());
    expect([back.retryable, back.retryAfterMs, back.requestId]).toEqual([true, 5000, 'req_9']);
  });

  it('tolerates a body that is not our envelope', () => {
    const e = GatewayError.fromEnvelope(502, '<html>bad gateway</html>');
    expect([e.code, e.message, e.type]).toEqual(['upstream_error', 'HTTP 502', 'server_error']);
    const unknownCode = GatewayError.fromEnvelope(400, { error: { code: 'made_up', message: 'm', type: 'weird' } });
    expect([unknownCode.code, unknownCode.type]).toEqual(['invalid_request', 'invalid_request_error']);
  });
});

describe('GatewayError.from', () => {
  it('passes GatewayErrors through', () => {
    const e = new GatewayError({ code: 'forbidden', message: 'm' });
    expect(GatewayError.from(e)).toBe(e);
  });
  it('maps fetch network TypeErrors to kind network, retryable', () => {
    const e = GatewayError.from(new TypeError('fetch failed'));
    expect([e.kind, e.retryable, e.code]).toEqual(['network', true, 'upstream_unavailable']);
  });
  it('maps aborts to kind aborted', () => {
    const e = GatewayError.from(new DOMException('aborted', 'AbortError'));
    expect([e.kind, e.retryable, e.status]).toEqual(['aborted', false, 499]);
  });
  it('maps anything else to a non-retryable internal_error', () => {
    const e = GatewayError.from('weird');
    expect([e.code, e.retryable, e.cause]).toEqual(['internal_error', false, 'weird']);
  });
});

describe('helpers', () => {
  it('abortedError keeps a GatewayError reason', () => {
    const reason = timeoutError('timeout_total', 100);
    expect(abortedError(reason)).toBe(reason);
    expect(abortedError(undefined).kind).toBe('aborted');
  });
  it('timeoutError is a retryable upstream_timeout 504 with the kind', () => {
    const e = timeoutError('timeout_first_token', 5000, "Model 'gpt-4o-mini'");
    expect([e.code, e.status, e.retryable, e.kind, e.type]).toEqual([
      'upstream_timeout',
      504,
      true,
      'timeout_first_token',
      'timeout_error',
    ]);
    expect(e.message).toBe("Model 'gpt-4o-mini' sent no first token within 5000 ms");
  });
  it('isGatewayErrorCode', () => {
    expect(isGatewayErrorCode('circuit_open')).toBe(true);
    expect(isGatewayErrorCode('authentication_error')).toBe(false);
  });
});
