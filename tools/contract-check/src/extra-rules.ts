// Breaking changes `redocly diff` rates patch (or does not see), found by comparing the two parsed
// documents ourselves. Each finding is a ContractChange, merged into redocly's report by breaking.ts.
import { isDeepStrictEqual } from 'node:util';
// What the generated client reads of the agreement: clientgen's extractor decides (see clientAgreementChanges).
import { extractClientAgreement } from '../../clientgen/src/agreement.ts';
import type { ContractChange } from './breaking.ts';

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const esc = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');
const unesc = (segment: string): string => segment.replaceAll('~1', '/').replaceAll('~0', '~');
/** A JSON pointer in redocly's spelling (`#/paths/~1healthz/get/security`), so findings line up with its changes. */
const pointer = (...keys: string[]): string => ['#', ...keys.map(esc)].join('/');
const parentOf = (at: string): string => at.slice(0, at.lastIndexOf('/'));
const shape = (path: string): string => path.replace(/\{[^}]*\}/g, '{}');
const templateParams = (path: string): string[] => [...path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
const show = (value: unknown): string => {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
};
const change = (impact: ContractChange['impact'], at: string, message: string, ruleId: string): ContractChange => ({ impact, pointer: at, message, ruleId });

export function extraChanges(base: Obj, revision: Obj): ContractChange[] {
  return [...securityChanges(base, revision), ...extensionChanges(base, revision), ...clientAgreementChanges(base, revision), ...pathParameterRenames(base, revision)];
}

/**
 * [base path, revision path] for each path in both. Paths are matched by shape (`/v1/jobs/{}`), as
 * redocly matches them, so a renamed path parameter still pairs its operations.
 */
function pathPairs(base: Obj, revision: Obj): [string, string][] {
  const basePaths = isObj(base.paths) ? base.paths : {};
  const revisionPaths = isObj(revision.paths) ? revision.paths : {};
  const byShape = new Map(Object.keys(basePaths).map((path) => [shape(path), path]));
  const pairs: [string, string][] = [];
  for (const path of Object.keys(revisionPaths)) {
    const basePath = path in basePaths ? path : byShape.get(shape(path));
    if (basePath !== undefined && (basePath === path || !(basePath in revisionPaths))) pairs.push([basePath, path]);
  }
  return pairs;
}

interface OperationPair {
  path: string;
  method: string;
  base: Obj;
  revision: Obj;
}

function operationPairs(base: Obj, revision: Obj): OperationPair[] {
  const pairs: OperationPair[] = [];
  for (const [basePath, path] of pathPairs(base, revision)) {
    const baseItem = (base.paths as Obj)[basePath];
    const revisionItem = (revision.paths as Obj)[path];
    for (const method of METHODS) {
      const [b, r] = [isObj(baseItem) ? baseItem[method] : undefined, isObj(revisionItem) ? revisionItem[method] : undefined];
      if (isObj(b) && isObj(r)) pairs.push({ path, method, base: b, revision: r });
    }
  }
  return pairs;
}

// --- 1. Security: a caller that was let in must still be let in -------------------------------------

/** One alternative of a security requirement list: every scheme in it is needed, with these scopes. */
type Requirement = Record<string, string[]>;

/** The operation's own `security`, else the document's (OpenAPI has no path-level one); `[]` or none = public. */
function effectiveSecurity(doc: Obj, operation: Obj): Requirement[] {
  const list = Array.isArray(operation.security) ? operation.security : Array.isArray(doc.security) ? doc.security : [];
  if (list.length === 0) return [{}];
  return list.filter(isObj).map((r) => Object.fromEntries(Object.entries(r).map(([scheme, scopes]) => [scheme, Array.isArray(scopes) ? scopes.map(String) : []])));
}

/** Credentials that meet `held` also meet `needed`: `needed` asks for no scheme or scope beyond them. */
const covers = (held: Requirement, needed: Requirement): boolean =>
  Object.entries(needed).every(([scheme, scopes]) => held[scheme] !== undefined && scopes.every((s) => held[scheme]?.includes(s)));

const describe = (list: Requirement[]): string =>
  list.map((r) => Object.entries(r).map(([s, scopes]) => (scopes.length ? `${s}[${scopes.join(', ')}]` : s)).join(' + ') || 'none').join(' or ');

/**
 * Stricter effective security on an existing operation (a public probe losing `security: []`, a new
 * scheme or scope, a top-level change the operation inherits) refuses callers that were let in:
 * breaking. It is stricter when some alternative a caller could meet before meets none now.
 * Looser security (adding `security: []`, an extra alternative) is compatible and not reported here.
 */
function securityChanges(base: Obj, revision: Obj): ContractChange[] {
  const found: ContractChange[] = [];
  for (const { path, method, base: b, revision: r } of operationPairs(base, revision)) {
    const [was, now] = [effectiveSecurity(base, b), effectiveSecurity(revision, r)];
    if (was.every((held) => now.some((needed) => covers(held, needed)))) continue;
    const from = Array.isArray(r.security) ? '' : ', from the top-level security';
    const message = `${method.toUpperCase()} ${path}: security is stricter (${describe(was)} → ${describe(now)}${from}): callers that were let in are refused`;
    found.push(change('major', pointer('paths', path, method, 'security'), message, 'security-stricter'));
  }
  return found;
}

// --- 2. x-llm-* extensions: the generated code and the client read them --------------------------

/** Maps whose keys are names (a header called `x-llm-fallback`), not extensions; as in tools/codegen. */
const NAME_MAPS = new Set(['headers', 'properties', 'patternProperties', '$defs', 'content', 'mapping', 'variables', 'links', 'callbacks', 'encoding', 'dependentSchemas']);
/** Data, not description: an `x-llm-*` key in an example is not an extension. */
const DATA = new Set(['example', 'examples', 'enum', 'const', 'default']);

interface Extensions {
  /** Pointer → value of each `x-llm-*` extension. */
  values: Map<string, unknown>;
  /** Pointer of each object that exists → the components.responses entry it was reached through, if any. */
  owners: Map<string, string | undefined>;
}

/**
 * Every `x-llm-*` extension under `node` (at pointer `at`). With `doc`, a `$ref` to
 * components.responses is followed, so an operation sees the `x-llm-retryable` of the response it uses.
 */
function extensionsOf(node: unknown, at: string, doc?: Obj): Extensions {
  const found: Extensions = { values: new Map(), owners: new Map() };
  const walk = (value: unknown, here: string, via: string | undefined, names: boolean): void => {
    if (Array.isArray(value)) return value.forEach((item, i) => walk(item, `${here}/${i}`, via, false));
    if (!isObj(value)) return;
    if (doc && typeof value.$ref === 'string' && value.$ref.startsWith('#/components/responses/')) {
      const target = value.$ref.slice(2).split('/').map(unesc).reduce<unknown>((n, key) => (isObj(n) ? n[key] : undefined), doc);
      if (value.$ref !== via) walk(target, here, value.$ref, false); // (a self-reference stops here)
      return;
    }
    found.owners.set(here, via);
    for (const [key, inner] of Object.entries(value)) {
      const next = `${here}/${esc(key)}`;
      if (!names && key.startsWith('x-llm-')) found.values.set(next, inner);
      else if (names || !DATA.has(key)) walk(inner, next, via, !names && (NAME_MAPS.has(key) || here === '#/components'));
    }
  };
  walk(node, at, undefined, false);
  return found;
}

/**
 * The value of an `x-llm-*` extension changed, was removed, or was added to an element that exists
 * in both versions: breaking (`x-llm-retryable` changes the client's retries, `x-llm-event-schema`
 * the stream's event type). An extension on a new element comes with it: redocly reports the element.
 * `x-llm-agreement` is compared term by term, each change recorded as minor (arrays, such as
 * fallback chains, compare whole: their order is part of the term); what the generated client
 * takes from it is compared by clientAgreementChanges, where any change is breaking.
 */
function extensionChanges(base: Obj, revision: Obj): ContractChange[] {
  // Outside paths, each extension is compared where it is written (a components.responses entry: once).
  const found = compareExtensions(extensionsOf({ ...base, paths: undefined }, '#'), extensionsOf({ ...revision, paths: undefined }, '#'));
  // Under paths, through `$ref`s: an operation response now pointing at another entry changes too.
  for (const { path, method, base: b, revision: r } of operationPairs(base, revision)) {
    const at = pointer('paths', path, method);
    found.push(...compareExtensions(extensionsOf(b, at, base), extensionsOf(r, at, revision)));
  }
  return found;
}

function compareExtensions(base: Extensions, revision: Extensions): ContractChange[] {
  const found: ContractChange[] = [];
  for (const at of new Set([...base.values.keys(), ...revision.values.keys()])) {
    const owner = parentOf(at);
    if (!base.owners.has(owner) || !revision.owners.has(owner)) continue; // a new or removed element
    const [wasVia, nowVia] = [base.owners.get(owner), revision.owners.get(owner)];
    if (wasVia !== undefined && wasVia === nowVia) continue; // the same entry in both: compared at the entry
    const note = wasVia === nowVia ? '' : ` (${wasVia ?? 'inline'} → ${nowVia ?? 'inline'})`;
    found.push(...valueChanges(at, base.values.get(at), revision.values.get(at), at.endsWith('/x-llm-agreement'), note));
  }
  return found;
}

/**
 * `byTerm` (the agreement): compared term by term, each change recorded as minor; what the
 * client sees change is rated by clientAgreementChanges.
 */
function valueChanges(at: string, was: unknown, now: unknown, byTerm: boolean, note = ''): ContractChange[] {
  if (isDeepStrictEqual(was, now)) return [];
  if (byTerm && isObj(was) && isObj(now)) return Object.keys({ ...was, ...now }).flatMap((key) => valueChanges(`${at}/${esc(key)}`, was[key], now[key], true));
  const name = at.split('/').find((s) => s.startsWith('x-llm-')) ?? 'x-llm-*';
  const what = name === 'x-llm-agreement' && !at.endsWith('/x-llm-agreement') ? `${name} term` : name;
  const impact = byTerm ? 'minor' : 'major';
  if (was === undefined) return [change(impact, at, `${what} added: ${show(now)}${note}`, 'x-llm-extension')];
  if (now === undefined) return [change(impact, at, `${what} removed (was ${show(was)})${note}`, 'x-llm-extension')];
  return [change(impact, at, `${what} changed: ${show(was)} → ${show(now)}${note}`, 'x-llm-extension')];
}

/**
 * What the generated client takes from the agreement (clientgen's own `extractClientAgreement`:
 * retries, breaker, timeouts per model) compared between the two versions: any change is
 * breaking, since a released client keeps the old terms (a removed or renamed model included).
 * A model added is compatible. `retryableStatus` is left to the `x-llm-retryable` rule, which
 * reports it where it is written.
 */
function clientAgreementChanges(base: Obj, revision: Obj): ContractChange[] {
  const [was, now] = [clientAgreementOf(base), clientAgreementOf(revision)];
  if (was === undefined || now === undefined) return [];
  const found: ContractChange[] = [];
  const compare = (path: string[], a: unknown, b: unknown): void => {
    if (isDeepStrictEqual(a, b)) return;
    if (isObj(a) && isObj(b)) {
      for (const key of Object.keys({ ...a, ...b })) {
        if (path.join('.') === 'timeouts.models' && !(key in a)) continue; // a new model
        compare([...path, key], a[key], b[key]);
      }
      return;
    }
    const message = `the generated client's ${path.join('.')} changes: ${show(a)} → ${show(b)} (a released client keeps the old value)`;
    found.push(change('major', pointer('x-llm-agreement'), message, 'client-agreement'));
  };
  compare([], was, now);
  return found;
}

/** The client's view of a document's agreement, without what other rules report; undefined when clientgen refuses it. */
function clientAgreementOf(doc: Obj): Obj | undefined {
  try {
    const { contractVersion: _version, retry, ...rest } = extractClientAgreement(doc as unknown as Parameters<typeof extractClientAgreement>[0]);
    const { retryableStatus: _statuses, ...ownRetry } = retry;
    return { ...rest, retry: ownRetry };
  } catch {
    return undefined; // generation fails on it anyway
  }
}

// --- 3. Renamed path parameters ----------------------------------------------------------------

/**
 * `/v1/jobs/{job_id}` → `/v1/jobs/{id}`: the same endpoint, but generated clients name their
 * method arguments after the template, so their signatures change. redocly pairs the two paths by
 * shape and rates the renamed key patch.
 */
function pathParameterRenames(base: Obj, revision: Obj): ContractChange[] {
  const found: ContractChange[] = [];
  for (const [basePath, path] of pathPairs(base, revision)) {
    const [was, now] = [templateParams(basePath), templateParams(path)];
    was.forEach((name, i) => {
      if (name === now[i]) return;
      const message = `path parameter {${name}} of ${basePath} renamed to {${now[i]}} (${path}): generated clients' method signatures change`;
      found.push(change('major', pointer('paths', path), message, 'path-parameter-renamed'));
    });
  }
  return found;
}
