import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { RegExpEngine } from 'ajv/dist/types/index.js';
import { LRUCache } from 'lru-cache';
import type { RE2JS } from 're2js';
import { GatewayError, bulkheadRejectedError } from '@llmgw/resilience';
import { hashOf } from '../fallback/cache-key.ts';
import type { MaybePromise } from '../stores/types.ts';

/** What the caller asked the answer to be. */
export type OutputSpec =
  | { kind: 'text' }
  | {
      kind: 'json';
      validate: ValidateFunction | undefined;
      schemaHash: string;
      schema: object | undefined;
      /** `json_object`: the answer must be an object, whatever the schema allows. */
      object: boolean;
    };

export interface StructuredOutputOptions {
  /** Largest accepted schema, in bytes of its JSON. */
  maxSchemaBytes: number;
  /** Compiled schemas kept (LRU). */
  cacheSize: number;
  /** Most objects and arrays in one schema. Default 1000 (compile time grows with them). */
  maxSchemaNodes?: number;
  /**
   * Compile time allowed per second for schemas not seen before, in ms. Past it a new schema
   * gets a 503 to retry (schemas already compiled are not affected), so a stream of novel
   * schemas cannot take the event loop. Default 250.
   */
  compileBudgetMsPerSecond?: number;
  /** Clock (ms) for the compile budget. Default performance.now. */
  now?: () => number;
}

type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object'; schema?: Record<string, unknown> }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null } };

/** Deepest caller schema accepted (objects/arrays inside each other); real answer schemas stay far below. */
export const MAX_SCHEMA_DEPTH = 32;
const DEFAULT_MAX_SCHEMA_NODES = 1000;
const DEFAULT_COMPILE_BUDGET_MS = 250;

const TEXT: OutputSpec = { kind: 'text' };
const PLAIN_JSON: OutputSpec = { kind: 'json', validate: undefined, schemaHash: 'any-object', schema: undefined, object: true };

/**
 * `pattern` and `patternProperties` run on RE2's linear-time engine (re2js, a pure JavaScript
 * port), not V8's backtracking one: the caller writes the expression and the model the text, and
 * `^(\D+)+\d$` against 40 characters held V8's engine for seconds. Lookaround and
 * backreferences, which need backtracking, make the schema a 422.
 *
 * Loaded with the first schema that has a pattern (its own chunk in the bundle): evaluating it
 * at start cost 4 MB of resident memory in every process, most of which never sees a pattern.
 */
let re2: typeof RE2JS | undefined;
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) =>
    // Before the engine is loaded only Ajv's own meta-schemas get here (their few patterns are
    // ours to trust): a caller's schema with a pattern waits for the engine (inspectSchema).
    re2 === undefined ? new RegExp(pattern, flags) : re2.compile(re2.translateRegExp(pattern)),
  { code: 'linearRegExp' },
);
async function loadRegExpEngine(): Promise<void> {
  re2 ??= (await import('re2js')).RE2JS;
}

/**
 * Compiles caller schemas once and caches them (bounded by count and size),
 * then checks the model's text against them. User schemas are untrusted: a
 * schema that is too big or does not compile is a 422, never a 500.
 */
export function createStructuredOutput(options: StructuredOutputOptions) {
  // One Ajv for caller schemas: no remote refs can load (no loadSchema), formats
  // are ignored rather than failing, and errors stop at the first. `inlineRefs: false`:
  // Ajv would copy a definition's code into every $ref to it, and a 6 KB schema of
  // 200 refs to one 50-property definition took 4 s to compile (0.1 s without).
  // No code optimisation passes: compiling is 2-3x faster, validating an answer no slower
  // that matters.
  const ajv = new Ajv2020({
    strict: false,
    allErrors: false,
    validateFormats: false,
    addUsedSchema: false,
    inlineRefs: false,
    code: { regExp: linearRegExp, optimize: false },
  });
  // Ajv keeps its own cache of every schema object compiled: drop an entry when ours does.
  const compiled = new LRUCache<string, { validate: ValidateFunction; schema: Record<string, unknown> }>({
    max: options.cacheSize,
    dispose: (entry) => ajv.removeSchema(entry.schema),
  });
  const maxNodes = options.maxSchemaNodes ?? DEFAULT_MAX_SCHEMA_NODES;
  const budgetMs = options.compileBudgetMsPerSecond ?? DEFAULT_COMPILE_BUDGET_MS;
  const now = options.now ?? (() => performance.now());
  let budgetWindowStart = -Infinity;
  let budgetSpentMs = 0;

  function compile(schema: Record<string, unknown>, param: string, object: boolean): MaybePromise<OutputSpec> {
    const text = JSON.stringify(schema);
    if (text.length > options.maxSchemaBytes) {
      throw new GatewayError({
        code: 'unprocessable_entity',
        message: `${param}: the schema is ${text.length} bytes, over the ${options.maxSchemaBytes}-byte limit.`,
        param,
      });
    }
    // Ajv's compile time grows steeply with nesting and with size: refuse before anything else.
    const shape = inspectSchema(schema);
    const refuse = (message: string) => new GatewayError({ code: 'unprocessable_entity', message: `${param}: ${message}`, param });
    if (shape.depth > MAX_SCHEMA_DEPTH) throw refuse(`the schema nests ${shape.depth} levels deep, over the limit of ${MAX_SCHEMA_DEPTH}.`);
    if (shape.nodes > maxNodes) throw refuse(`the schema has ${shape.nodes} objects and arrays, over the limit of ${maxNodes}.`);
    if (shape.problem) throw refuse(shape.problem);
    if (shape.patterns && re2 === undefined) return loadRegExpEngine().then(() => compile(schema, param, object));
    // Canonical (sorted keys): the same schema written in another key order is the same schema.
    const hash = hashOf(canonicalJson(schema));
    let entry = compiled.get(hash);
    if (!entry) {
      entry = { validate: compileWithinBudget(schema, refuse), schema };
      compiled.set(hash, entry);
    }
    return { kind: 'json', validate: entry.validate, schemaHash: hash, schema, object };
  }

  function compileWithinBudget(schema: Record<string, unknown>, refuse: (message: string) => GatewayError): ValidateFunction {
    const started = now();
    if (started - budgetWindowStart >= 1000) {
      budgetWindowStart = started;
      budgetSpentMs = 0;
    } else if (budgetSpentMs >= budgetMs) {
      throw bulkheadRejectedError(
        `Too many new response_format schemas to compile right now (${Math.round(budgetSpentMs)} ms of compiling in the last second); retry in a second. Schemas already seen are not affected.`,
        1000,
      );
    }
    try {
      return ajv.compile(schema);
    } catch (err) {
      // Ajv keeps a schema it failed to compile in its cache too: a stream of bad schemas must not grow it.
      ajv.removeSchema(schema);
      throw refuse(`not a usable JSON Schema (${shortMessage(err)}).`);
    } finally {
      budgetSpentMs += now() - started;
    }
  }

  return {
    /**
     * The output spec for a request's `response_format` (throws a 422 GatewayError). A promise
     * only the first time a schema has a pattern (the engine is loaded then).
     */
    specFor(format: ResponseFormat | undefined): MaybePromise<OutputSpec> {
      if (!format || format.type === 'text') return TEXT;
      if (format.type === 'json_object') return format.schema ? compile(format.schema, 'response_format.schema', true) : PLAIN_JSON;
      const schema = format.json_schema.schema;
      return schema ? compile(schema, 'response_format.json_schema.schema', false) : PLAIN_JSON;
    },

    /** How many schemas Ajv holds (its meta-schemas, then at most the cache size): for tests and diagnostics. */
    schemasHeld(): number {
      // Ajv's own cache is private; reading its size is the only way to see that it is bounded.
      return (ajv as unknown as { _cache: Map<unknown, unknown> })._cache.size;
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
      if (spec.object && (value === null || typeof value !== 'object' || Array.isArray(value))) return { ok: false, error: 'not a JSON object' };
      if (spec.validate === undefined || spec.validate(value)) return { ok: true };
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

/** Keywords that would name a schema or a place in it for other schemas to reach: refused. */
const NAMING_KEYWORDS = new Set(['$id', '$anchor', '$dynamicAnchor']);

/**
 * Depth and size of a caller's schema, iteratively (a hostile document must not overflow the
 * stack), and the first thing in it that is refused:
 * - `$id`, `$anchor`, `$dynamicAnchor`: Ajv registers them for the whole process, so one caller's
 *   schema would change what another's `$ref` resolves to;
 * - a `$ref` outside the document (nothing is loaded; it would fail later with a vaguer message).
 * A keyword's value is a string; a property of that name is a schema (an object), and passes.
 */
export function inspectSchema(root: unknown): { depth: number; nodes: number; patterns: boolean; problem?: string } {
  let depth = 0;
  let nodes = 0;
  let patterns = false;
  let problem: string | undefined;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, level] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    nodes++;
    if (level > depth) depth = level;
    for (const [key, child] of Object.entries(value)) {
      if (typeof child === 'string' && problem === undefined && !Array.isArray(value)) {
        if (NAMING_KEYWORDS.has(key)) problem = `'${key}' is not accepted in a response schema (it would be shared with other requests); use $defs and local $ref.`;
        else if (key === '$ref' && !child.startsWith('#')) problem = `'$ref' must point inside the schema ('#...'); '${child.slice(0, 80)}' cannot be loaded.`;
      }
      if (key === 'pattern' || key === 'patternProperties') patterns = true;
      if (child !== null && typeof child === 'object') stack.push([child, level + 1]);
    }
  }
  return { depth, nodes, patterns, problem };
}

/** JSON with object keys sorted, for hashing (depth already bounded by the caller). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
