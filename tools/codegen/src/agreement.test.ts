import { agreement as generatedAgreement, modelTerms, retryableByStatus as generatedRetryable } from '@llmgw/contract';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkContract, ContractError, generateAgreement, retryableByStatus } from './agreement.ts';
import { loadContract, type Contract, type JsonObject } from './contract.ts';
import { generate } from './generate.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const base = loadContract(ROOT);

/** A copy of the contract with `mutate` applied to its parsed document. */
function mutated(mutate: (doc: JsonObject, agreement: any) => void): Contract {
  const doc = structuredClone(base.doc);
  mutate(doc, doc['x-llm-agreement']);
  return { ...base, doc };
}

function problemsOf(contract: Contract): string[] {
  try {
    checkContract(contract);
  } catch (error) {
    if (error instanceof ContractError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('x-llm-agreement at generation time', () => {
  it('the contract as committed passes', () => {
    expect(problemsOf(base)).toEqual([]);
  });

  const cases: Array<[string, { given: (doc: JsonObject, a: any) => void; want: string }]> = [
    ['a typo in a field name', { given: (_d, a) => ((a.defaults.retry.maxAtempts = 3), delete a.defaults.retry.maxAttempts), want: 'x-llm-agreement/defaults/retry/maxAtempts: unknown property' }],
    ['a missing required field', { given: (_d, a) => delete a.defaults.retry.maxAttempts, want: 'x-llm-agreement/defaults/retry/maxAttempts: is required' }],
    ['a wrong type', { given: (_d, a) => (a.rateLimits.requestsPerMinute = '600'), want: 'x-llm-agreement/rateLimits/requestsPerMinute: must be integer' }],
    ['an unknown strategy', { given: (_d, a) => (a.models['gpt-4o'].fallback[1].strategy = 'rulebased'), want: 'x-llm-agreement/models/gpt-4o/fallback/1/strategy: must be one of alternative_model, rule_based, cache, async, polite' }],
    ['alternative_model without a model', { given: (_d, a) => delete a.models['gpt-4o'].fallback[0].model, want: 'x-llm-agreement/models/gpt-4o/fallback/0/model: is required' }],
    ['a fallback target that is not a model', { given: (_d, a) => (a.models['gpt-4o'].fallback[0].model = 'gpt-4o-mni'), want: "x-llm-agreement/models/gpt-4o/fallback/0/model: 'gpt-4o-mni' is not a model in x-llm-agreement/models" }],
    ['a model falling back to itself', { given: (_d, a) => (a.models['gpt-4o'].fallback[0].model = 'gpt-4o'), want: 'x-llm-agreement/models/gpt-4o/fallback/0/model: a model cannot fall back to itself' }],
    ['a step after polite', { given: (_d, a) => a.models['llama-3.2-70b'].fallback.push({ strategy: 'async' }), want: "x-llm-agreement/models/llama-3.2-70b/fallback/3: unreachable, 'polite' before it always answers" }],
    ['a KnownModel without operating terms', { given: (d: any) => d.components.schemas.KnownModel.enum.push('gpt-5'), want: "components/schemas/KnownModel: 'gpt-5' has no entry in x-llm-agreement/models" }],
    ['a retry code that is not an ErrorCode', { given: (_d, a) => a.defaults.retry.neverRetryCodes.push('content_filter'), want: "x-llm-agreement/defaults/retry/neverRetryCodes/3: 'content_filter' is not in components/schemas/ErrorCode" }],
    ['retrying a status documented as not retryable', { given: (_d, a) => (a.defaults.retry.retryOnStatus.push(422), a.defaults.retry.neverRetryStatus.pop()), want: 'x-llm-agreement/defaults/retry/retryOnStatus/7: 422 is documented with x-llm-retryable: false' }],
    ['first-token timeout beyond the total', { given: (_d, a) => (a.models['gpt-4o'].timeouts.firstTokenMs = 26000), want: 'x-llm-agreement/models/gpt-4o/timeouts/firstTokenMs: 26000 exceeds the effective totalMs 25000' }],
    ['an invalid rule pattern', { given: (_d, a) => (a.fallback.rules[0].pattern = '(unclosed'), want: 'x-llm-agreement/fallback/rules/0/pattern: not a valid regular expression' }],
    ['a typo in an x- extension', { given: (d: any) => ((d.components.responses.BadRequest['x-llm-retryabel'] = false), delete d.components.responses.BadRequest['x-llm-retryable']), want: 'components/responses/BadRequest/x-llm-retryabel: unknown extension' }],
    ['a response without x-llm-retryable', { given: (d: any) => delete d.components.responses.GatewayTimeout['x-llm-retryable'], want: 'components/responses/GatewayTimeout/x-llm-retryable: missing' }],
    ['the agreement itself misspelt', { given: (d: any) => ((d['x-llm-agrement'] = d['x-llm-agreement']), delete d['x-llm-agreement']), want: 'x-llm-agrement: unknown extension' }],
  ];
  it.each(cases)('fails on %s, naming the path', async (_name, { given, want }) => {
    const contract = mutated(given);
    expect(problemsOf(contract).join('\n')).toContain(want);
    // and no output at all is produced
    await expect(generate(contract)).rejects.toThrow(want.slice(0, 40));
  });

  it('a header named x-llm-fallback is a name, not an extension', () => {
    expect(problemsOf(base).some((p) => p.includes('x-llm-fallback'))).toBe(false);
  });
});

describe('generated agreement module', () => {
  it('is the contract agreement, deeply frozen', () => {
    expect(generatedAgreement).toEqual(base.doc['x-llm-agreement']);
    expect(Object.isFrozen(generatedAgreement.models['gpt-4o-mini'].fallback[0])).toBe(true);
    expect(() => {
      (generatedAgreement.defaults.retry as { maxAttempts: number }).maxAttempts = 9;
    }).toThrow(TypeError);
  });

  it('resolves each model over the defaults', () => {
    expect(modelTerms['gpt-4o-mini'].timeouts).toEqual({ connectMs: 2000, firstTokenMs: 5000, streamIdleMs: 10000, totalMs: 15000 });
    expect(modelTerms['llama-3.2-70b'].retry.maxAttempts).toBe(3);
  });

  it('retryableByStatus comes from x-llm-retryable, keyed by the status each response is used under', () => {
    const { map, problems } = retryableByStatus(base);
    expect(problems).toEqual([]);
    expect(map).toEqual({ 400: false, 401: false, 403: false, 404: false, 408: true, 413: false, 415: false, 422: false, 429: true, 500: true, 502: true, 503: true, 504: true });
    expect(generatedRetryable).toEqual(map);
    const flipped = mutated((d: any) => (d.components.responses.ServiceUnavailable['x-llm-retryable'] = false));
    expect(retryableByStatus(flipped).map[503]).toBe(false);
  });

  it('emits exact types: an explicit Agreement interface and the literal value', () => {
    const text = generateAgreement(base);
    expect(text).toContain('export interface Agreement {');
    expect(text).toContain('export interface AgreementFallbackStep {');
    expect(text).toContain('as const satisfies Agreement');
  });
});
