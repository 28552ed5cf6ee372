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
