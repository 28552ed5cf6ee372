import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  contentFields,
  createLogger,
  describeInvalidOutput,
  describeValidationError,
  isContentLoggingEnabled,
  keyFingerprint,
  requestLogFields,
  type LoggerOptions,
} from './logging.ts';

/** A logger writing JSON lines into an array. */
function capture(options: Omit<LoggerOptions, 'destination'> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ ...options, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with a level name', () => {
    const { logger, lines, parsed } = capture({ name: 'gw' });
    logger.info({ requestId: 'r1' }, 'done');
    logger.debug('hidden at info level');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(parsed()[0]).toMatchObject({ level: 'info', name: 'gw', requestId: 'r1', msg: 'done' });
  });

  it('redacts keys and auth headers wherever they sit, including child bindings', () => {
    const secret = `sk-${randomUUID()}`;
    const { logger, lines, parsed } = capture();
    logger.info(
      {
        authorization: `Bearer ${secret}`,
        apiKey: secret,
        headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret, 'api-key': secret, cookie: secret },
        req: { headers: { authorization: `Bearer ${secret}`, 'proxy-authorization': secret } },
        provider: { openai: { apiKey: secret } },
        err: { config: { headers: { 'x-api-key': secret } } },
        model: 'gpt-4o-mini',
      },
      'upstream call',
    );
    logger.child({ upstream: { headers: { authorization: secret } } }).warn('child');

    const output = lines.join('');
    expect(output).not.toContain(secret);
    const [first, second] = parsed() as [Record<string, any>, Record<string, any>];
    expect(first['authorization']).toBe(REDACTED);
    expect(first['apiKey']).toBe(REDACTED);
    expect(first['headers']).toEqual({ authorization: REDACTED, 'x-api-key': REDACTED, 'api-key': REDACTED, cookie: REDACTED });
    expect(first['req'].headers.authorization).toBe(REDACTED);
    expect(first['provider'].openai.apiKey).toBe(REDACTED);
    expect(first['err'].config.headers['x-api-key']).toBe(REDACTED);
    expect(first['model']).toBe('gpt-4o-mini');
    expect(second['upstream'].headers.authorization).toBe(REDACTED);
  });
});

describe('content never reaches a log unless debugContent is on', () => {
  function logThroughHelpers(debugContent: boolean, unique: string): string {
    const { logger, lines } = capture({ debugContent });
    const messages = [{ role: 'user', content: `What is the price? ${unique}` }];
    const completion = `{"answer": "${unique}`; // truncated JSON, as a cut-off model answer

    let parseError: unknown;
    try {
      JSON.parse(completion);
    } catch (error) {
      parseError = error;
    }
    let parseError2: unknown;
    try {
      JSON.parse(unique);
    } catch (error) {
      parseError2 = error;
    }
    const child = logger.child(requestLogFields({ requestId: 'req-1', model: 'gpt-4o-mini' }));
    child.warn({ invalidOutput: describeInvalidOutput(completion, parseError) }, 'model output failed validation');
    child.warn({ invalidOutput: describeInvalidOutput(unique, parseError2) }, 'model output is not JSON');
    child.warn(
      {
        invalidOutput: describeInvalidOutput(completion, [
          { instancePath: '/answer', keyword: 'type', message: 'must be number' },
        ]),
      },
      'schema mismatch',
    );
    child.info({ ...contentFields(messages, completion, child) }, 'debug content');
    child.info(
      requestLogFields({
        requestId: 'req-1',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        keyId: keyFingerprint(unique),
        model: 'gpt-4o-mini',
        status: 200,
        latencyMs: 812.345,
        tokens: { prompt: 12, completion: 34 },
        fallbackStrategy: 'cache',
      }),
      'request done',
    );
    return lines.join('');
  }

  it('keeps a unique prompt/completion string out of every line when off', () => {
    const unique = `UNIQUE-${randomUUID()}`;
    const output = logThroughHelpers(false, unique);
    expect(output.split('\n').filter(Boolean)).toHaveLength(5);
    expect(output).not.toContain(unique);
    expect(output).not.toContain(unique.slice(7, 20));
  });

  it('lets it through when on (so the test above can fail)', () => {
    const unique = `UNIQUE-${randomUUID()}`;
    expect(logThroughHelpers(true, unique)).toContain(unique);
  });
});

describe('helpers', () => {
  it('requestLogFields keeps a fixed flat set of fields and drops unknown ones', () => {
    const input = { requestId: 'r', model: 'm', status: 429, latencyMs: 1.26, tokens: { prompt: 3 }, body: 'secret' };
    expect(requestLogFields(input)).toEqual({ requestId: 'r', model: 'm', status: 429, latencyMs: 1.3, promptTokens: 3 });
  });

  it('describeInvalidOutput gives length, a 16-hex sha256 prefix and the error', () => {
    const d = describeInvalidOutput('{"a":1', new SyntaxError('Unexpected end of JSON input'));
    expect(d).toEqual({ length: 6, sha256: expect.stringMatching(/^[0-9a-f]{16}$/), error: 'SyntaxError: Unexpected end of JSON input' });
    expect(describeInvalidOutput('{"a":1', 'x').sha256).toBe(d.sha256);
    expect(describeInvalidOutput('{"a":2', 'x').sha256).not.toBe(d.sha256);
  });

  it('describeValidationError formats Ajv errors and caps their number', () => {
    const errors = Array.from({ length: 7 }, (_, i) => ({ instancePath: `/items/${i}`, keyword: 'type', message: 'must be string' }));
    expect(describeValidationError({ errors })).toBe(
      '/items/0 must be string; /items/1 must be string; /items/2 must be string; /items/3 must be string; /items/4 must be string (+2 more)',
    );
    expect(describeValidationError([{ instancePath: '', keyword: 'required' }])).toBe('/ required');
    expect(describeValidationError(42)).toBe('unknown validation error');
  });

  it('contentFields follows the logger it is given, its children, or a boolean', () => {
    const on = createLogger({ debugContent: true, destination: { write: () => {} } });
    const off = createLogger({ debugContent: false, destination: { write: () => {} } });
    expect(isContentLoggingEnabled(on.child({ a: 1 }))).toBe(true);
    expect(contentFields(['m'], 'c', on.child({}))).toEqual({ prompt: ['m'], completion: 'c' });
    expect(contentFields(['m'], 'c', off)).toEqual({});
    expect(contentFields(['m'], 'c', true)).toEqual({ prompt: ['m'], completion: 'c' });
    expect(contentFields(['m'], 'c', false)).toEqual({});
  });

  it('keyFingerprint is stable and does not contain the key', () => {
    const key = 'sk-test-1234567890';
    expect(keyFingerprint(key)).toMatch(/^key_[0-9a-f]{12}$/);
    expect(keyFingerprint(key)).toBe(keyFingerprint(key));
    expect(keyFingerprint(key)).not.toContain('1234567890');
  });
});
