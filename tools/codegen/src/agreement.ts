import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { deref, isObject, type Contract, type Json, type JsonObject } from './contract.ts';
import { emitAgreementTypes } from './agreement-types.ts';
import { withHeader } from './header.ts';
import { listOperations } from './operations.ts';

export const AGREEMENT_KEY = 'x-llm-agreement';
export const RETRYABLE_KEY = 'x-llm-retryable';
export const EVENT_SCHEMA_KEY = 'x-llm-event-schema';

/** Generation fails with every problem found, each naming its path in the contract. */
export class ContractError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`contracts/openapi.yaml has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ContractError';
    this.problems = problems;
  }
}

/** Where each of our `x-llm-*` extensions may appear (slash paths, `*` = any one segment). */
const EXTENSION_PLACES: Readonly<Record<string, readonly RegExp[]>> = {
  [AGREEMENT_KEY]: [/^$/],
  [RETRYABLE_KEY]: [/^components\/responses\/[^/]+$/, /^paths\/[^/]+\/[a-z]+\/responses\/[^/]+$/],
  [EVENT_SCHEMA_KEY]: [/^(components\/responses\/[^/]+|paths\/[^/]+\/[a-z]+\/responses\/[^/]+)\/content\/[^/]+$/],
};

/** Maps whose keys are names (header, property, media type...), never extensions, so `x-llm-fallback` as a header name is fine. */
const NAME_MAPS = new Set(['headers', 'properties', 'patternProperties', '$defs', 'content', 'mapping', 'variables', 'examples', 'links', 'callbacks', 'encoding', 'dependentSchemas']);

const segment = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Every `x-llm-*` key must be one we know, in a place it belongs; a typo fails generation. */
export function checkExtensions(doc: JsonObject): string[] {
  const problems: string[] = [];
  const walk = (node: Json, path: string, namesOnly = false): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, path ? `${path}/${i}` : String(i)));
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const at = path ? `${path}/${segment(key)}` : segment(key);
      if (namesOnly) {
        walk(value, at);
        continue;
      }
      if (key.toLowerCase().startsWith('x-llm')) {
        const places = EXTENSION_PLACES[key];
        if (places === undefined) problems.push(`${at}: unknown extension (known: ${Object.keys(EXTENSION_PLACES).join(', ')})`);
        else if (!places.some((place) => place.test(path))) problems.push(`${at}: ${key} does not belong here`);
        if (key === AGREEMENT_KEY) continue; // validated against its own schema
      }
      if (key === 'example' || key === 'enum' || key === 'const' || key === 'default') continue;
      walk(value, at, NAME_MAPS.has(key) || path === 'components');
    }
  };
  walk(doc, '');
  const responses = isObject(doc.components) && isObject(doc.components.responses) ? doc.components.responses : {};
  for (const [name, response] of Object.entries(responses)) {
    if (isObject(response) && typeof response.$ref === 'string') continue;
    const flag = isObject(response) ? response[RETRYABLE_KEY] : undefined;
    if (typeof flag !== 'boolean') {
      problems.push(`components/responses/${segment(name)}/${RETRYABLE_KEY}: ${flag === undefined ? 'missing' : 'must be a boolean'} (every documented error response says whether a client may retry it)`);
    }
  }
  return problems;
}

/** Turns Ajv errors (allErrors) into `x-llm-agreement/a/b: what is wrong` lines. */
export function formatAgreementErrors(errors: readonly ErrorObject[]): string[] {
  const lines: string[] = [];
  for (const error of errors) {
    if (error.keyword === 'if') continue; // the `then`/`else` error underneath says what is wrong
    const at = `${AGREEMENT_KEY}${error.instancePath}`;
    const params = error.params as Record<string, unknown>;
    let line: string;
    if (error.keyword === 'additionalProperties') line = `${at}/${String(params.additionalProperty)}: unknown property`;
    else if (error.keyword === 'required') line = `${at}/${String(params.missingProperty)}: is required`;
    else if (error.keyword === 'enum') line = `${at}: must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
    else if (error.keyword === 'not' && error.schemaPath.endsWith('/else/not')) line = `${at}/model: only allowed with strategy alternative_model`;
    else line = `${at}: ${error.message ?? error.keyword}`;
    if (!lines.includes(line)) lines.push(line);
  }
  return lines;
}

/** Validates the agreement against agreement.schema.json (all errors, each naming its path). */
export function validateAgreementSchema(agreement: Json | undefined, schema: JsonObject): string[] {
  if (agreement === undefined) return [`${AGREEMENT_KEY}: missing (the operating agreement is required)`];
  // Unknown keywords still fail (strictSchema); strictTypes/strictRequired are off only here because the
  // schema puts `required` beside `$ref` on purpose (the type comes from the referenced def).
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  const validate = ajv.compile(schema);
  return validate(agreement) ? [] : formatAgreementErrors(validate.errors ?? []);
}

interface Step { strategy: string; model?: string }
interface ModelEntry { fallback: Step[]; timeouts?: Record<string, number> }

function enumOf(doc: JsonObject, schemaName: string): string[] | undefined {
  const schemas = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
  const schema = schemas[schemaName];
  return isObject(schema) && Array.isArray(schema.enum) ? schema.enum.map(String) : undefined;
}

/** `{ status: retryable }` from the `x-llm-retryable` flag of each components.responses entry, by the status it is used under. */
export function retryableByStatus(contract: Pick<Contract, 'doc'>): { map: Record<number, boolean>; problems: string[] } {
  const map: Record<number, boolean> = {};
  const from: Record<number, string> = {};
  const problems: string[] = [];
  for (const operation of listOperations(contract)) {
    for (const response of operation.responses) {
      if (response.componentName === undefined) continue;
      const component = deref(contract.doc, { $ref: `#/components/responses/${response.componentName}` });
      const flag = component[RETRYABLE_KEY];
      if (typeof flag !== 'boolean') continue; // reported by checkExtensions
      const previous = map[response.status];
      if (previous !== undefined && previous !== flag) {
        problems.push(`components/responses/${response.componentName}/${RETRYABLE_KEY}: status ${response.status} is ${flag ? 'retryable' : 'not retryable'} here but not in ${from[response.status]}`);
      }
      map[response.status] = flag;
      from[response.status] = `components/responses/${response.componentName}`;
    }
  }
  const sorted: Record<number, boolean> = {};
  for (const status of Object.keys(map).map(Number).sort((a, b) => a - b)) sorted[status] = map[status] as boolean;
  return { map: sorted, problems };
}

/**
 * Checks the schema cannot express. Decisions:
 * - KnownModel must be a SUBSET of the agreement's models: every model the contract names has
 *   operating terms; a deployment may configure more (KnownModel's description says so).
 * - an `alternative_model` target must be another model of the agreement;
 * - a chain has no repeated step and nothing after `polite` (it always answers, so later steps are dead);
 * - `async` in a chain needs createChatCompletion to document 202;
 * - retry codes exist in ErrorCode; retryOnStatus and neverRetryStatus are disjoint and agree with x-llm-retryable;
 * - effective connect/first-token timeouts are within totalMs; initialDelayMs <= maxDelayMs;
 * - runaway recentWindowMs < baselineWindowMs; fallback rule names are unique and patterns compile.
 */
export function crossCheckAgreement(contract: Pick<Contract, 'doc'>, agreement: JsonObject, retryable: Record<number, boolean>): string[] {
  const problems: string[] = [];
  const A = AGREEMENT_KEY;
  const models = (agreement.models ?? {}) as unknown as Record<string, ModelEntry>;
  const modelNames = Object.keys(models);
  const defaults = agreement.defaults as unknown as { timeouts: Record<string, number>; retry: Record<string, unknown> };

  for (const known of enumOf(contract.doc, 'KnownModel') ?? []) {
    if (!(known in models)) problems.push(`components/schemas/KnownModel: '${known}' has no entry in ${A}/models (known models need operating terms)`);
  }
  const strategies = enumOf(contract.doc, 'FallbackStrategy');
  const operations = listOperations(contract);
  const chat = operations.find((op) => op.operationId === 'createChatCompletion');
  for (const [name, model] of Object.entries(models)) {
    const seen = new Set<string>();
    model.fallback.forEach((step, index) => {
      const at = `${A}/models/${segment(name)}/fallback/${index}`;
      const id = `${step.strategy}:${step.model ?? ''}`;
      if (seen.has(id)) problems.push(`${at}: repeats an earlier step (${step.strategy}${step.model ? ` ${step.model}` : ''})`);
      seen.add(id);
      if (index > 0 && model.fallback[index - 1]?.strategy === 'polite') problems.push(`${at}: unreachable, 'polite' before it always answers`);
      if (strategies && !strategies.includes(step.strategy)) problems.push(`${at}/strategy: '${step.strategy}' is not in components/schemas/FallbackStrategy`);
      if (step.strategy === 'alternative_model' && step.model !== undefined) {
        if (step.model === name) problems.push(`${at}/model: a model cannot fall back to itself`);
        else if (!modelNames.includes(step.model)) problems.push(`${at}/model: '${step.model}' is not a model in ${A}/models (known: ${modelNames.join(', ')})`);
      }
      if (step.strategy === 'async' && chat && !chat.responses.some((r) => r.status === 202)) {
        problems.push(`${at}: the async fallback needs createChatCompletion to document a 202 response`);
      }
    });
    const timeouts = { ...defaults.timeouts, ...model.timeouts };
    for (const field of ['connectMs', 'firstTokenMs'] as const) {
      const value = timeouts[field];
      const total = timeouts.totalMs;
      if (value !== undefined && total !== undefined && value > total) {
        problems.push(`${A}/models/${segment(name)}/timeouts/${field}: ${value} exceeds the effective totalMs ${total}`);
      }
    }
  }

  const retry = defaults.retry as { retryOnStatus: number[]; neverRetryStatus: number[]; neverRetryCodes: string[]; initialDelayMs: number; maxDelayMs: number };
  const codes = enumOf(contract.doc, 'ErrorCode');
  retry.neverRetryCodes.forEach((code, i) => {
    if (codes && !codes.includes(code)) problems.push(`${A}/defaults/retry/neverRetryCodes/${i}: '${code}' is not in components/schemas/ErrorCode`);
  });
  retry.retryOnStatus.forEach((status, i) => {
    if (retry.neverRetryStatus.includes(status)) problems.push(`${A}/defaults/retry/retryOnStatus/${i}: ${status} is also in neverRetryStatus`);
    if (retryable[status] === false) problems.push(`${A}/defaults/retry/retryOnStatus/${i}: ${status} is documented with ${RETRYABLE_KEY}: false`);
  });
  retry.neverRetryStatus.forEach((status, i) => {
    if (retryable[status] === true) problems.push(`${A}/defaults/retry/neverRetryStatus/${i}: ${status} is documented with ${RETRYABLE_KEY}: true`);
  });
  if (retry.initialDelayMs > retry.maxDelayMs) problems.push(`${A}/defaults/retry/initialDelayMs: ${retry.initialDelayMs} exceeds maxDelayMs ${retry.maxDelayMs}`);

  const runaway = (agreement.tokenBudget as { runaway: { recentWindowMs: number; baselineWindowMs: number } }).runaway;
  if (runaway.recentWindowMs >= runaway.baselineWindowMs) problems.push(`${A}/tokenBudget/runaway/recentWindowMs: must be shorter than baselineWindowMs`);

  const rules = (agreement.fallback as { rules: Array<{ name: string; pattern?: string }> }).rules;
  const ruleNames = new Set<string>();
  rules.forEach((rule, i) => {
    if (ruleNames.has(rule.name)) problems.push(`${A}/fallback/rules/${i}/name: '${rule.name}' is used twice`);
    ruleNames.add(rule.name);
    if (rule.pattern !== undefined) {
      try {
        new RegExp(rule.pattern, 'iu');
      } catch (error) {
        problems.push(`${A}/fallback/rules/${i}/pattern: not a valid regular expression (${(error as Error).message})`);
      }
    }
  });
  return problems;
}

/** Validates extensions and the agreement; throws ContractError naming every problem. */
export function checkContract(contract: Contract): { agreement: JsonObject; retryable: Record<number, boolean> } {
  const problems = checkExtensions(contract.doc);
  const agreement = contract.doc[AGREEMENT_KEY];
  problems.push(...validateAgreementSchema(agreement, contract.agreementSchema));
  const { map, problems: retryProblems } = retryableByStatus(contract);
  problems.push(...retryProblems);
  if (problems.length === 0 && isObject(agreement)) problems.push(...crossCheckAgreement(contract, agreement, map));
  if (problems.length > 0 || !isObject(agreement)) throw new ContractError(problems);
  return { agreement, retryable: map };
}

/** Per-model terms with the defaults merged in, so consumers never merge at run time. */
function resolveModels(agreement: JsonObject): JsonObject {
  const defaults = agreement.defaults as JsonObject;
  const out: JsonObject = {};
  for (const [name, raw] of Object.entries(agreement.models as JsonObject)) {
    const model = raw as JsonObject;
    const merge = (key: string): Json => ({ ...(defaults[key] as JsonObject), ...((model[key] as JsonObject | undefined) ?? {}) });
    out[name] = {
      contextWindow: model.contextWindow ?? null,
      capabilities: model.capabilities ?? null,
      timeouts: merge('timeouts'),
      retry: merge('retry'),
      circuitBreaker: merge('circuitBreaker'),
      slo: merge('slo'),
      fallback: model.fallback ?? [],
    };
  }
  return out;
}

const literal = (value: Json): string => JSON.stringify(value, null, 2);

/** packages/contract/src/generated/agreement.ts */
export function generateAgreement(contract: Contract): string {
  const { agreement, retryable } = checkContract(contract);
  const body = [
    emitAgreementTypes(contract.agreementSchema),
    `/** A model's terms with the defaults merged in. */`,
    `export interface ResolvedModelTerms {`,
    `  readonly contextWindow: number;`,
    `  readonly capabilities: AgreementModel['capabilities'];`,
    `  readonly timeouts: Required<AgreementTimeouts>;`,
    `  readonly retry: AgreementRetry;`,
    `  readonly circuitBreaker: AgreementCircuitBreaker;`,
    `  readonly slo: Required<AgreementModelSlo>;`,
    `  readonly fallback: readonly AgreementFallbackStep[];`,
    `}`,
    '',
    `type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;`,
    '',
    `function deepFreeze<T>(value: T): DeepReadonly<T> {`,
    `  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {`,
    `    Object.freeze(value);`,
    `    for (const child of Object.values(value)) deepFreeze(child);`,
    `  }`,
    `  return value as DeepReadonly<T>;`,
    `}`,
    '',
    `/** The operating agreement (\`x-llm-agreement\`), validated against contracts/agreement.schema.json at generation time. */`,
    `export const agreement = deepFreeze(${literal(agreement)} as const satisfies Agreement);`,
    '',
    `/** A model the agreement configures. */`,
    `export type ModelName = keyof typeof agreement.models;`,
    '',
    `/** Every configured model's terms, defaults merged in. */`,
    `export const modelTerms: { readonly [M in ModelName]: ResolvedModelTerms } = deepFreeze(${literal(resolveModels(agreement))});`,
    '',
    `/** Whether a documented status may be retried (\`x-llm-retryable\` of its components.responses entry). */`,
    `export const retryableByStatus = deepFreeze({`,
    ...Object.entries(retryable).map(([status, flag]) => `  ${status}: ${String(flag)},`),
    `} as const);`,
    '',
    `/** A status the contract documents in components.responses. */`,
    `export type DocumentedErrorStatus = keyof typeof retryableByStatus;`,
  ];
  return withHeader(contract, body.join('\n'));
}
