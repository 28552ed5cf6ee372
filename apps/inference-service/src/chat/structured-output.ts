import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import { LRUCache } from 'lru-cache';
import { GatewayError } from '@llmgw/resilience';
import { hashOf } from '../fallback/cache-key.ts';

/** What the caller asked the answer to be. */
export type OutputSpec =
  | { kind: 'text' }
  | { kind: 'json'; validate: ValidateFunction | undefined; schemaHash: string; schema: object | undefined };

export interface StructuredOutputOptions {
  /** Largest accepted schema, in bytes of its JSON. */
  maxSchemaBytes: number;
  /** Compiled schemas kept (LRU). */
  cacheSize: number;
}

type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object'; schema?: Record<string, unknown> }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null } };

/** Deepest caller schema accepted (objects/arrays inside each other); real answer schemas stay far below. */
export const MAX_SCHEMA_DEPTH = 32;

const TEXT: OutputSpec = { kind: 'text' };
const PLAIN_JSON: OutputSpec = { kind: 'json', validate: undefined, schemaHash: 'any-object', schema: undefined };

/**
 * Compiles caller schemas once and caches them (bounded by count and size),
 * then checks the model's text against them. User schemas are untrusted: a
 * schema that is too big or does not compile is a 422, never a 500.
 */
export function createStructuredOutput(options: StructuredOutputOptions) {
  // One Ajv for caller schemas: no remote refs can load (no loadSchema), formats
  // are ignored rather than failing, and errors stop at the first.
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false, addUsedSchema: false });
  const compiled = new LRUCache<string, ValidateFunction>({ max: options.cacheSize });

  function compile(schema: Record<string, unknown>, param: string): OutputSpec {
    const text = JSON.stringify(schema);
    if (text.length > options.maxSchemaBytes) {
      throw new GatewayError({
        code: 'unprocessable_entity',
        message: `${param}: the schema is ${text.length} bytes, over the ${options.maxSchemaBytes}-byte limit.`,
        param,
      });
    }
    // Ajv's compile time grows steeply with nesting: refuse deep schemas before anything else.
    const depth = nestingDepth(schema);
    if (depth > MAX_SCHEMA_DEPTH) {
      throw new GatewayError({
        code: 'unprocessable_entity',
        message: `${param}: the schema nests ${depth} levels deep, over the limit of ${MAX_SCHEMA_DEPTH}.`,
        param,
      });
    }
    // Canonical (sorted keys): the same schema written in another key order is the same schema.
    const hash = hashOf(canonicalJson(schema));
    let validate = compiled.get(hash);
    if (!validate) {
      try {
        validate = ajv.compile(schema);
      } catch (err) {
        throw new GatewayError({
          code: 'unprocessable_entity',
          message: `${param}: not a usable JSON Schema (${shortMessage(err)}).`,
          param,
        });
      }
      compiled.set(hash, validate);
    }
    return { kind: 'json', validate, schemaHash: hash, schema };
  }

  return {
    /** The output spec for a request's `response_format` (throws a 422 GatewayError). */
    specFor(format: ResponseFormat | undefined): OutputSpec {
      if (!format || format.type === 'text') return TEXT;
      if (format.type === 'json_object') return format.schema ? compile(format.schema, 'response_format.schema') : PLAIN_JSON;
      const schema = format.json_schema.schema;
      return schema ? compile(schema, 'response_format.json_schema.schema') : PLAIN_JSON;
    },

    /** Parses and validates the model's text; never trusts finish_reason. */
    check(spec: OutputSpec, text: string): { ok: true } | { ok: false; error: string } {
      if (spec.kind === 'text') return { ok: true };
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return { ok: false, error: `not valid JSON (${shortMessage(err)})` };
      }
      if (spec.validate === undefined) {
        return value !== null && typeof value === 'object' && !Array.isArray(value)
          ? { ok: true }
          : { ok: false, error: 'not a JSON object' };
      }
      if (spec.validate(value)) return { ok: true };
      return { ok: false, error: describe(spec.validate.errors) };
    },
  };
}

export type StructuredOutput = ReturnType<typeof createStructuredOutput>;

/** The follow-up message that asks the model to fix its answer. */
export function repairInstruction(error: string): string {
  return `Your previous answer was rejected: ${error}. Reply again with only the corrected JSON, no prose and no code fences.`;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the schema';
  return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`;
}

function shortMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 200 ? `${message.slice(0, 200)}...` : message;
}

/** Nesting depth of a JSON value, iteratively (a hostile document must not overflow the stack). */
export function nestingDepth(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > max) max = depth;
    for (const child of Object.values(value)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return max;
}

/** JSON with object keys sorted, for hashing (depth already bounded by the caller). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
