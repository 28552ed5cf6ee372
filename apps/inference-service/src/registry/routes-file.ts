/**
 * The deployment's routes file: which upstreams exist and which models they
 * serve (YAML or JSON; shape in ../../routes.schema.json, examples in
 * ../../examples/). Read and validated once at start: a bad file stops the
 * service with messages that name the file, the JSON path and the problem,
 * e.g. `routes.yaml: /models/team-*\/timeouts/totalMs: must be integer`.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parseDocument } from 'yaml';
// Imported, not read from disk: the production bundle (scripts/bundle.ts) carries it.
import routesSchema from '../../routes.schema.json' with { type: 'json' };

export type UpstreamKind = 'openai' | 'anthropic';

export interface UpstreamConfig {
  kind: UpstreamKind;
  baseUrl: string;
  /** Name of the env var holding the key, never the key. */
  apiKeyEnv?: string;
  pool?: { connections?: number; keepAlive?: number; keepAliveTimeoutMs?: number; connectTimeoutMs?: number };
  /** openai kind: understands response_format json_schema (default true). */
  jsonSchema?: boolean;
  /** anthropic kind: default max_tokens. */
  maxTokens?: number;
}

export type FallbackStep =
  | { strategy: 'alternative_model'; model: string }
  | { strategy: 'rule_based' | 'cache' | 'async' | 'polite' };

export interface TimeoutsConfig {
  connectMs?: number;
  firstTokenMs?: number;
  streamIdleMs?: number;
  totalMs?: number;
}

export interface ModelConfig {
  upstream: string;
  upstreamModel?: string;
  timeouts?: TimeoutsConfig;
  capabilities?: { jsonSchema?: boolean; continuation?: boolean };
  contextWindow?: number;
  fallback?: FallbackStep[];
  retry?: Record<string, unknown>;
  circuitBreaker?: Record<string, unknown>;
  slo?: { p99LatencyMs?: number };
  allowedKeys?: string[];
}

export interface RoutesFile {
  upstreams: Record<string, UpstreamConfig>;
  /** Serves every agreement model that `models` does not list. */
  defaultUpstream?: string;
  models?: Record<string, ModelConfig>;
}

/** A routes file that cannot be used; `issues` are complete lines (`file: /path: problem`). */
export class RoutesFileError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`Invalid routes file:\n  ${issues.join('\n  ')}`);
    this.name = 'RoutesFileError';
    this.issues = issues;
  }
}

let validator: ValidateFunction | undefined;

/** Compiled on first use, once per process. */
function routesValidator(): ValidateFunction {
  if (validator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    validator = ajv.compile(routesSchema as object);
  }
  return validator;
}

/** Read, parse and validate a routes file (`.json` as JSON, anything else as YAML, which also reads JSON). */
export function loadRoutesFile(path: string): RoutesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RoutesFileError([`${path}: cannot read the routes file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  return parseRoutes(text, path);
}

/** Parse routes text; `source` names it in error messages. */
export function parseRoutes(text: string, source: string): RoutesFile {
  let value: unknown;
  if (source.endsWith('.json')) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new RoutesFileError([`${source}: not valid JSON (${(error as Error).message})`]);
    }
  } else {
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    if (doc.errors.length > 0) {
      throw new RoutesFileError(doc.errors.map((e) => `${source}: ${yamlPosition(e.linePos)}not valid YAML (${e.code}: ${firstLine(e.message)})`));
    }
    value = doc.toJS({ maxAliasCount: 100 });
  }
  return validateRoutes(value, source);
}

/** Validate a parsed routes document: the JSON Schema, then the references between its parts. */
export function validateRoutes(value: unknown, source: string): RoutesFile {
  const validate = routesValidator();
  if (!validate(value)) throw new RoutesFileError(formatAjvErrors(validate.errors ?? [], source));
  const routes = value as RoutesFile;
  const issues: string[] = [];
  const upstreamNames = Object.keys(routes.upstreams);
  const known = (name: string): boolean => Object.hasOwn(routes.upstreams, name);
  if (routes.defaultUpstream !== undefined && !known(routes.defaultUpstream)) {
    issues.push(`${source}: /defaultUpstream: unknown upstream "${routes.defaultUpstream}" (declared: ${upstreamNames.join(', ')})`);
  }
  for (const [name, model] of Object.entries(routes.models ?? {})) {
    if (!known(model.upstream)) {
      issues.push(`${source}: ${pointer('models', name, 'upstream')}: unknown upstream "${model.upstream}" (declared: ${upstreamNames.join(', ')})`);
    }
    if (model.upstreamModel !== undefined && /[*?]/.test(model.upstreamModel)) {
      issues.push(`${source}: ${pointer('models', name, 'upstreamModel')}: must be a model name, not a pattern`);
    }
  }
  for (const [name, upstream] of Object.entries(routes.upstreams)) {
    if (upstream.kind === 'anthropic' && upstream.jsonSchema !== undefined) {
      issues.push(`${source}: ${pointer('upstreams', name, 'jsonSchema')}: only for kind openai (anthropic gets the schema in the system prompt)`);
    }
    if (upstream.kind === 'openai' && upstream.maxTokens !== undefined) {
      issues.push(`${source}: ${pointer('upstreams', name, 'maxTokens')}: only for kind anthropic`);
    }
  }
  if (issues.length > 0) throw new RoutesFileError(issues);
  return routes;
}

/** A JSON Pointer (RFC 6901) from path segments. */
export function pointer(...segments: string[]): string {
  let out = '';
  for (const s of segments) out += `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`;
  return out;
}

function formatAjvErrors(errors: readonly ErrorObject[], source: string): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // if/then/else repeats the inner error as "must match then schema": the inner one says it all.
    if (e.keyword === 'if') continue;
    let where = e.instancePath === '' ? '/' : e.instancePath;
    let problem = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      where = `${e.instancePath}${pointer(extra)}`;
      problem = 'unknown property (not allowed here)';
    } else if (e.keyword === 'required') {
      where = `${e.instancePath}${pointer((e.params as { missingProperty: string }).missingProperty)}`;
      problem = 'is required';
    } else if (e.keyword === 'enum') {
      problem = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'propertyNames') {
      continue; // its inner error (below) names the key and the rule
    } else if (e.propertyName !== undefined) {
      where = `${e.instancePath}${pointer(e.propertyName)}`;
      problem = `invalid name (${problem})`;
    } else if (e.keyword === 'not' && e.schemaPath.includes('/else/')) {
      where = `${e.instancePath}/model`;
      problem = 'only for strategy alternative_model';
    }
    const line = `${source}: ${where}: ${problem}`;
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  }
  return lines;
}

function yamlPosition(linePos: readonly { line: number; col: number }[] | undefined): string {
  const p = linePos?.[0];
  return p === undefined ? '' : `line ${p.line}, column ${p.col}: `;
}

const TRAILING_POSITION = / at line \d+, column \d+:?$/;

function firstLine(message: string): string {
  const i = message.indexOf('\n');
  return (i === -1 ? message : message.slice(0, i)).replace(TRAILING_POSITION, '');
}
