import { describe, expect, it } from 'vitest';
import { assertValid, ContractValidationError, formatAjvErrors, pointerToParam, validate } from './index.ts';

describe('pointerToParam', () => {
  it.each([
    ['', undefined, null],
    ['/messages/0/role', undefined, 'messages[0].role'],
    ['/response_format/json_schema', 'name', 'response_format.json_schema.name'],
    ['', 'x-request-id', 'x-request-id'],
    ['/a~1b/c~0d', undefined, 'a/b.c~d'],
  ])('%s + %s', (pointer, child, want) => {
    expect(pointerToParam(pointer, child)).toBe(want);
  });
});

describe('validate / assertValid', () => {
  it('narrows on success and formats the failure', () => {
    const ok = validate('Usage', { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    expect(ok.ok && ok.value.total_tokens).toBe(3);
    const bad = validate('Usage', { prompt_tokens: -1, completion_tokens: 2, total_tokens: 3 });
    expect(bad.ok ? null : bad.issue).toEqual({ param: 'prompt_tokens', message: 'prompt_tokens: must be >= 0' });
  });
  it('assertValid throws a typed error', () => {
    expect(() => assertValid('FinishReason', 'done')).toThrow(ContractValidationError);
    expect(() => assertValid('FinishReason', 'done')).toThrow('FinishReason: value: must be one of stop, length, content_filter, tool_calls');
  });
  it('names the constraint a value broke, not the type of another allowed shape', () => {
    const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
    const tooMany = validate('CreateChatCompletionRequest', { ...base, stop: ['a', 'b', 'c', 'd', 'e'] });
    expect(tooMany.ok ? null : tooMany.issue).toEqual({ param: 'stop', message: 'stop: must NOT have more than 4 items' });
    const wrongType = validate('CreateChatCompletionRequest', { ...base, stop: 7 });
    expect(wrongType.ok ? null : wrongType.issue.param).toBe('stop');
  });
  it('formatAjvErrors copes with no errors', () => {
    expect(formatAjvErrors(null, { root: 'body' })).toEqual({ param: null, message: 'body: is invalid' });
  });
});
