import type { ErrorObject } from 'ajv';
import * as validators from './generated/validators.js';
import type { Validator } from './generated/validators.js';

/** Names of every generated validator (component schemas, `<operationId>_params`, inline payloads). */
export type ValidatorName = keyof typeof validators;
/** The type a named validator narrows to. */
export type Validated<N extends ValidatorName> = (typeof validators)[N] extends Validator<infer T> ? T : never;

/** One validation failure, ready for the error envelope: `param` is the field path (`messages[0].role`). */
export interface ValidationIssue {
  readonly param: string | null;
  readonly message: string;
}

export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issue: ValidationIssue; readonly errors: readonly ErrorObject[] };

export interface FormatOptions {
  /** How to name the validated value itself when the failure is at its root (default `'value'`). */
  readonly root?: string;
}

const INDEX = /^\d+$/;
const COMPOSITE_KEYWORDS = new Set(['anyOf', 'oneOf', 'if', 'then', 'else', 'not']);

/** `/messages/0/role` -> `messages[0].role`; JSON Pointer escapes decoded. */
export function pointerToParam(pointer: string, child?: string): string | null {
  let out = '';
  const tokens = pointer === '' ? [] : pointer.slice(1).split('/');
  if (child !== undefined) tokens.push(child);
  for (const raw of tokens) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += INDEX.test(token) ? `[${token}]` : out === '' ? token : `.${token}`;
  }
  return out === '' ? null : out;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The most useful of Ajv's errors: after a failed anyOf/oneOf Ajv lists every branch's error and
 * then the composite one; the deepest path is the one closest to what the caller got wrong. At
 * the same depth, a branch that failed on a constraint (a stop list of 5 strings: "at most 4
 * items") says more than one of the other type ("must be string").
 */
function pickError(errors: readonly ErrorObject[]): ErrorObject | undefined {
  let best: ErrorObject | undefined;
  for (const error of errors) {
    if (COMPOSITE_KEYWORDS.has(error.keyword) && best !== undefined) continue;
    if (
      best === undefined ||
      COMPOSITE_KEYWORDS.has(best.keyword) ||
      error.instancePath.length > best.instancePath.length ||
      (error.instancePath.length === best.instancePath.length && best.keyword === 'type' && error.keyword !== 'type')
    ) {
      best = error;
    }
  }
  return best;
}

/** Formats Ajv errors as one issue: `messages[0].role: must be one of system, developer, user, assistant`. */
export function formatAjvErrors(errors: readonly ErrorObject[] | null | undefined, options: FormatOptions = {}): ValidationIssue {
  const error = errors ? pickError(errors) : undefined;
  if (error === undefined) return { param: null, message: `${options.root ?? 'value'}: is invalid` };
  const params = error.params as Record<string, unknown>;
  let param = pointerToParam(error.instancePath);
  let what: string;
  switch (error.keyword) {
    case 'required':
      param = pointerToParam(error.instancePath, String(params.missingProperty));
      what = 'is required';
      break;
    case 'additionalProperties':
      param = pointerToParam(error.instancePath, String(params.additionalProperty));
      what = 'unknown property';
      break;
    case 'enum':
      what = `must be one of ${(params.allowedValues as unknown[]).map(describe).join(', ')}`;
      break;
    case 'const':
      what = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'type':
      what = `must be ${String(params.type).split(',').join(' or ')}`;
      break;
    case 'discriminator':
      if (params.error === 'mapping') {
        param = pointerToParam(error.instancePath, String(params.tag));
        what = `unknown value ${JSON.stringify(params.tagValue)}`;
      } else {
        param = pointerToParam(error.instancePath, String(params.tag));
        what = 'must be a string';
      }
      break;
    case 'anyOf':
    case 'oneOf':
      what = 'does not match any allowed shape';
      break;
    default:
      what = error.message ?? `fails ${error.keyword}`;
  }
  return { param, message: `${param ?? options.root ?? 'value'}: ${what}` };
}

/** Validates `data` with the named generated validator. */
export function validate<N extends ValidatorName>(name: N, data: unknown, options?: FormatOptions): ValidationResult<Validated<N>> {
  const validator = validators[name] as unknown as Validator<Validated<N>>;
  if (validator(data)) return { ok: true, value: data };
  const errors = validator.errors ?? [];
  return { ok: false, issue: formatAjvErrors(errors, options), errors };
}

/** Thrown by `assertValid`: carries the issue (param + message) of the first failure. */
export class ContractValidationError extends Error {
  readonly param: string | null;
  readonly schema: string;
  constructor(schema: string, issue: ValidationIssue) {
    super(`${schema}: ${issue.message}`);
    this.name = 'ContractValidationError';
    this.param = issue.param;
    this.schema = schema;
  }
}

/** Validates or throws ContractValidationError; returns the value typed. */
export function assertValid<N extends ValidatorName>(name: N, data: unknown, options?: FormatOptions): Validated<N> {
  const result = validate(name, data, options);
  if (!result.ok) throw new ContractValidationError(name, result.issue);
  return result.value;
}
