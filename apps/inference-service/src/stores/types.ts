// Shared state behind small interfaces: an in-memory default for one
// instance, a Redis implementation when REDIS_URL is set (see ../stores/redis).

/** Outcome of taking `points` from a fixed-window limiter. */
export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

/**
 * A value, or a promise of it. The in-memory stores answer at once: every request
 * reads three of them and writes two, and a promise and an await for each was about
 * a dozen microtask turns per request. The Redis stores answer with promises.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

export interface RateLimiterStore {
  /** Take `points` for `key`; never throws on exhaustion (returns allowed: false). */
  consume(key: string, points: number): MaybePromise<LimitDecision>;
  /** Take points after the fact (e.g. completion tokens known only at the end); may go below zero. */
  penalize(key: string, points: number): MaybePromise<void>;
  /** Current state without consuming. */
  peek(key: string): MaybePromise<LimitDecision>;
}

/** Token counts per key in time buckets, for budgets and the runaway guard. */
/** [fromMs, toMs): a half-open span of time. */
export type TimeRange = readonly [fromMs: number, toMs: number];

export interface TokenUsageStore {
  add(key: string, tokens: number, nowMs: number): MaybePromise<void>;
  /** Sum of tokens for `key` in [fromMs, toMs). */
  sum(key: string, fromMs: number, toMs: number): MaybePromise<number>;
  /**
   * The sums of several ranges of one key from one read (the budget check needs three
   * overlapping windows on every request: one Redis round trip instead of three).
   */
  sums(key: string, ranges: readonly TimeRange[]): MaybePromise<number[]>;
}

export interface CachedAnswer {
  content: string;
  model: string;
  finishReason: 'stop' | 'length' | 'content_filter' | 'tool_calls';
  storedAt: number;
}

export interface ResponseCacheStore {
  get(key: string): Promise<CachedAnswer | undefined>;
  set(key: string, value: CachedAnswer, ttlMs: number): Promise<void>;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobRecord<TPayload = unknown, TResult = unknown> {
  id: string;
  state: JobState;
  createdAt: number;
  updatedAt: number;
  attempts: number;
  payload: TPayload;
  result: TResult | null;
  error: { code: string; message: string } | null;
}

/**
 * The queue holds as many unfinished jobs as it may (an outage that turns every
 * request into a job): the caller moves on to its next fallback instead of the
 * queue growing until the process runs out of memory.
 */
/** Unfinished jobs a queue holds at most, in memory or in Redis (then JobQueueFullError). */
export const DEFAULT_MAX_JOBS = 10_000;

export class JobQueueFullError extends Error {
  readonly code = 'job_queue_full';
  readonly limit: number;
  constructor(limit: number) {
    super(`The job queue holds its limit of ${limit} unfinished jobs`);
    this.name = 'JobQueueFullError';
    this.limit = limit;
  }
}

/** Runs one job attempt; throws to have the queue retry it with backoff. */
export type JobProcessor<TPayload, TResult> = (payload: TPayload, attempt: number) => Promise<TResult>;

export interface JobQueue<TPayload = unknown, TResult = unknown> {
  enqueue(payload: TPayload): Promise<JobRecord<TPayload, TResult>>;
  get(id: string): Promise<JobRecord<TPayload, TResult> | undefined>;
  /** Start processing jobs with `processor` in this instance (a worker). */
  startWorker(processor: JobProcessor<TPayload, TResult>): void;
  counts(): Promise<Record<JobState, number>>;
  close(): Promise<void>;
}

/**
 * Reads a key may make per request it may make. Reads have a window of their own: a client
 * polling a job every 250 ms while it runs (240 a minute) must not use up the requests its
 * chats need, and a key looping on them is still held to a rate.
 */
export const READS_PER_REQUEST = 10;

/** Everything shared between instances, chosen once at start. */
export interface SharedStores {
  kind: 'memory' | 'redis';
  requestLimiter: RateLimiterStore;
  /** Reads (model lookups, job polls) per key: a window of their own, READS_PER_REQUEST times the request rate. */
  readLimiter: RateLimiterStore;
  tokenLimiter: RateLimiterStore;
  tokenUsage: TokenUsageStore;
  cache: ResponseCacheStore;
  /** Reports whether the backing store is reachable (for /readyz). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
