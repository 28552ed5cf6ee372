import { describe, expect, it } from 'vitest';
import { createKeyVerifier, parseApiKeys } from './keys.ts';

describe('createKeyVerifier', () => {
  const verify = createKeyVerifier(parseApiKeys('sk-team-a=team-a:gpt-4o-mini|claude-3.5-sonnet,sk-ops=ops'));

  it('finds each configured key, the same on every later call', () => {
    for (let i = 0; i < 3; i++) {
      expect(verify('sk-team-a')).toEqual({ id: 'team-a', models: new Set(['gpt-4o-mini', 'claude-3.5-sonnet']) });
      expect(verify('sk-ops')).toEqual({ id: 'ops', models: undefined });
    }
  });

  it('refuses unknown keys, prefixes and extensions of real ones, before and after those verified', () => {
    for (const bad of ['sk-team', 'sk-team-a ', 'sk-team-ab', '', 'SK-OPS']) expect(verify(bad)).toBeUndefined();
    expect(verify('sk-ops')?.id).toBe('ops');
    for (const bad of ['sk-op', 'sk-opsx']) expect(verify(bad)).toBeUndefined();
  });

  it('keeps verifiers apart: a key remembered by one is unknown to another', () => {
    const other = createKeyVerifier(parseApiKeys('sk-other=other'));
    expect(verify('sk-ops')?.id).toBe('ops');
    expect(other('sk-ops')).toBeUndefined();
  });
});

describe('parseApiKeys', () => {
  it('names a key without an id after the key, not after its place in the list', () => {
    const both = parseApiKeys('sk-alice,sk-bob');
    const bobOnly = parseApiKeys('sk-bob');
    expect(bobOnly.get('sk-bob')!.id).toBe(both.get('sk-bob')!.id);
    expect(both.get('sk-alice')!.id).not.toBe(both.get('sk-bob')!.id);
    expect(both.get('sk-alice')!.id).toMatch(/^key-[0-9a-f]{8}$/);
  });

  it('keeps the = of base64 keys in the key', () => {
    expect(parseApiKeys('q1w2e3r4t5y6u7i8o9p0aa==')).toEqual(new Map([['q1w2e3r4t5y6u7i8o9p0aa==', { id: expect.stringMatching(/^key-/), models: undefined }]]));
    expect(parseApiKeys('q1w2e3r4t5y6u7i8o9p0aa===ops:gpt-4o')).toEqual(new Map([['q1w2e3r4t5y6u7i8o9p0aa==', { id: 'ops', models: ['gpt-4o'] }]]));
    const verify = createKeyVerifier(parseApiKeys('q1w2e3r4t5y6u7i8o9p0aa=='));
    expect(verify('q1w2e3r4t5y6u7i8o9p0aa==')).toBeDefined();
    expect(verify('q1w2e3r4t5y6u7i8o9p0aa')).toBeUndefined();
  });

  it('reads model names that contain a colon', () => {
    expect(parseApiKeys('sk-x=team:openai:gpt-4o|gpt-4o-mini').get('sk-x')).toEqual({ id: 'team', models: ['openai:gpt-4o', 'gpt-4o-mini'] });
  });

  it('lets keys share an id (rotation) and refuses a repeated key or an entry with no key', () => {
    const keys = parseApiKeys('sk-old=team-a, sk-new=team-a');
    expect([...keys.values()].map((k) => k.id)).toEqual(['team-a', 'team-a']);
    expect(() => parseApiKeys('sk-a=one,sk-a=two')).toThrow(/entry 2 repeats a key/);
    expect(() => parseApiKeys('=ops')).toThrow(/entry 1 has no key/);
  });
});
