import type { ContractDocument } from './contract.ts';

/** What the client needs from `x-llm-agreement` plus the contract's `x-llm-retryable` flags. */
export interface ClientAgreement {
  contractVersion: string;
  retry: {
    maxAttempts: number;
    initialDelayMs: number;
    multiplier: number;
    maxDelayMs: number;
    jitter: string;
    maxRetryAfterMs: number;
    neverRetryCodes: string[];
    /** Statuses whose documented error response carries `x-llm-retryable: true`. */
    retryableStatus: number[];
  };
  circuitBreaker: Record<string, number>;
  timeouts: { defaultTotalMs: number; defaultFirstTokenMs: number; models: Record<string, { totalMs: number; firstTokenMs: number }> };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown, where: string): Obj => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`contract: ${where} must be an object`);
  return v as Obj;
};
const num = (v: unknown, where: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`contract: ${where} must be a number`);
  return v;
};

/** Reads the client-relevant operating terms; a missing term fails generation (never a silent default). */
export function extractClientAgreement(doc: ContractDocument): ClientAgreement {
  const agreement = obj(doc['x-llm-agreement'], 'x-llm-agreement');
  const defaults = obj(agreement.defaults, 'x-llm-agreement.defaults');
  const retry = obj(defaults.retry, 'defaults.retry');
  const timeouts = obj(defaults.timeouts, 'defaults.timeouts');
  const breaker = obj(defaults.circuitBreaker, 'defaults.circuitBreaker');
  const models = obj(agreement.models, 'x-llm-agreement.models');
  const defaultTotalMs = num(timeouts.totalMs, 'defaults.timeouts.totalMs');
  const defaultFirstTokenMs = num(timeouts.firstTokenMs, 'defaults.timeouts.firstTokenMs');

  const modelTimeouts: ClientAgreement['timeouts']['models'] = {};
  for (const name of Object.keys(models).sort()) {
    const t = (obj(models[name], `models.${name}`).timeouts ?? {}) as Obj;
    modelTimeouts[name] = {
      totalMs: t.totalMs === undefined ? defaultTotalMs : num(t.totalMs, `models.${name}.timeouts.totalMs`),
      firstTokenMs: t.firstTokenMs === undefined ? defaultFirstTokenMs : num(t.firstTokenMs, `models.${name}.timeouts.firstTokenMs`),
    };
  }
  const circuitBreaker: Record<string, number> = {};
  for (const key of Object.keys(breaker).sort()) circuitBreaker[key] = num(breaker[key], `defaults.circuitBreaker.${key}`);

  return {
    contractVersion: doc.info.version,
    retry: {
      maxAttempts: num(retry.maxAttempts, 'retry.maxAttempts'),
      initialDelayMs: num(retry.initialDelayMs, 'retry.initialDelayMs'),
      multiplier: num(retry.multiplier, 'retry.multiplier'),
      maxDelayMs: num(retry.maxDelayMs, 'retry.maxDelayMs'),
      jitter: String(retry.jitter),
      maxRetryAfterMs: num(retry.maxRetryAfterMs, 'retry.maxRetryAfterMs'),
      neverRetryCodes: ((retry.neverRetryCodes ?? []) as string[]).map(String),
      retryableStatus: retryableStatuses(doc),
    },
    circuitBreaker,
    timeouts: { defaultTotalMs, defaultFirstTokenMs, models: modelTimeouts },
  };
}

/** Statuses of documented error responses marked `x-llm-retryable: true` (following `$ref`s), sorted. */
export function retryableStatuses(doc: ContractDocument): number[] {
  const named = doc.components?.responses ?? {};
  const found = new Set<number>();
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      const responses = (op as { responses?: Obj } | null)?.responses;
      if (!responses) continue;
      for (const [status, raw] of Object.entries(responses)) {
        const ref = (raw as { $ref?: string }).$ref;
        const response = ref ? named[ref.split('/').pop()!] : (raw as Obj);
        if (response?.['x-llm-retryable'] === true) found.add(Number(status));
      }
    }
  }
  return [...found].sort((a, b) => a - b);
}

export function renderAgreementModule(agreement: ClientAgreement, header: string): string {
  return `${header}
/** Client-relevant operating terms from the contract's \`x-llm-agreement\` (and \`x-llm-retryable\` flags). */
export const agreement = deepFreeze(${JSON.stringify(agreement, null, 2)} as const);

export type Agreement = typeof agreement;
export type AgreementModel = keyof typeof agreement.timeouts.models;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
`;
}
