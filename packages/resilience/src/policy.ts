/**
 * The common shape of every policy (cockatiel's `IPolicy`): `execute(fn, signal)`
 * runs `fn` under the policy and hands it a context with the signal to obey,
 * the caller's absolute deadline, and the attempt number. `wrap()` composes.
 */
import { NEVER_ABORTED } from './abort.ts';

export interface PolicyContext {
  /** Abort when this fires (caller gone, deadline reached, attempt timed out). */
  readonly signal: AbortSignal;
  /** Absolute epoch ms by which the whole call must be over; undefined = none. */
  readonly deadline: number | undefined;
  /** 1-based attempt number set by a RetryPolicy; 1 outside of one. */
  readonly attempt: number;
}

/** What a caller may pass as the second argument of `execute`. */
export interface ExecuteOptions {
  signal?: AbortSignal;
  /** Absolute epoch ms (e.g. `Date.now() + 30_000`). */
  deadline?: number;
  attempt?: number;
}

export type PolicyFn<T> = (context: PolicyContext) => PromiseLike<T> | T;

export interface Policy {
  execute<T>(fn: PolicyFn<T>, options?: AbortSignal | ExecuteOptions): Promise<T>;
}

const ROOT_CONTEXT: PolicyContext = Object.freeze({ signal: NEVER_ABORTED, deadline: undefined, attempt: 1 });

/**
 * Normalises `execute`'s second argument. A context handed down by an outer
 * policy is already complete and passes through without allocating.
 */
export function toContext(options: AbortSignal | ExecuteOptions | PolicyContext | undefined): PolicyContext {
  if (options === undefined) return ROOT_CONTEXT;
  if (isAbortSignal(options)) return { signal: options, deadline: undefined, attempt: 1 };
  if (isCompleteContext(options)) return options;
  return {
    signal: options.signal ?? NEVER_ABORTED,
    deadline: options.deadline,
    attempt: options.attempt ?? 1,
  };
}

function isAbortSignal(value: object): value is AbortSignal {
  return typeof (value as AbortSignal).addEventListener === 'function' && 'aborted' in value;
}

function isCompleteContext(value: ExecuteOptions | PolicyContext): value is PolicyContext {
  return value.signal !== undefined && 'deadline' in value && value.attempt !== undefined;
}

/** Runs fn directly: the identity of `wrap`. */
export const noopPolicy: Policy = {
  async execute(fn, options) {
    return fn(toContext(options));
  },
};

/**
 * `wrap(a, b, c).execute(fn)` = `a.execute(ctx => b.execute(ctx => c.execute(fn, ctx), ctx))`:
 * the first policy is the outermost. We recommend
 * `wrap(bulkhead, breaker, retry, attemptTimeout)`; see README.
 */
export function wrap(...policies: Policy[]): Policy {
  if (policies.length === 0) return noopPolicy;
  if (policies.length === 1) return policies[0]!;
  const last = policies.length - 1;
  const run = <T>(index: number, fn: PolicyFn<T>, options: AbortSignal | ExecuteOptions | undefined): Promise<T> => {
    const policy = policies[index]!;
    if (index === last) return policy.execute(fn, options);
    return policy.execute((ctx) => run(index + 1, fn, ctx), options);
  };
  return {
    execute: (fn, options) => run(0, fn, options),
  };
}
