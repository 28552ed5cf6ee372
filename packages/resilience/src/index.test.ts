import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '@llmgw/resilience';

const here = new URL('.', import.meta.url);
const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.bench.ts'));

describe('package surface', () => {
  it('resolves through the package name and exports the policies', () => {
    for (const name of ['GatewayError', 'RetryPolicy', 'CircuitBreaker', 'Bulkhead', 'TimeoutPolicy', 'wrap', 'decide']) {
      expect(api, name).toHaveProperty(name);
    }
  });

  it('is web-standard: no node: or bare imports in the runtime sources', () => {
    for (const file of sources) {
      const text = readFileSync(new URL(file, here), 'utf8');
      const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      for (const s of specifiers) expect(s.startsWith('./'), `${file} imports ${s}`).toBe(true);
      expect(text, file).not.toMatch(/\bprocess\.|\bBuffer\b|\brequire\(/);
    }
  });

  it('has no runtime dependencies', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', here), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
  });

  it('every runtime module has a test beside it', () => {
    const internal = new Set(['index.ts', 'brand.ts']); // brand: covered by errors.test.ts; index: this file
    for (const file of sources) {
      if (internal.has(file)) continue;
      expect(readdirSync(here), file).toContain(file.replace(/\.ts$/, '.test.ts'));
    }
  });
});
