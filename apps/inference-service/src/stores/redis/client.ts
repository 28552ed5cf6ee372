import { Redis, type RedisOptions } from 'ioredis';

/** Request-path commands give up after this long (a dead Redis must not hold requests). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
/** A connection attempt gives up after this long. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;
/** Longest wait between reconnect attempts; they start at 50 ms and grow. */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 2000;

export interface RedisClientTuning {
  /** Default DEFAULT_COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number;
  /** Default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Default DEFAULT_MAX_RECONNECT_DELAY_MS. */
  maxReconnectDelayMs?: number;
}

/** Told once when a connection goes down and once when it is back, never per reconnect attempt. */
export interface ConnectionWatch {
  down(error: unknown): void;
  up(): void;
}

/** ioredis reconnects forever with growing delays: recovery is automatic when Redis returns. */
function retryStrategy(maxDelayMs: number) {
  return (times: number) => Math.min(50 * 2 ** Math.min(times, 10), maxDelayMs);
}

/**
 * The client for rate limits, token usage and cache: every command
 * fails fast while Redis is unreachable (no offline queue, short timeouts, one
 * try), so the admission policy (fail open or closed) decides instead of a hang.
 */
export function requestPathClient(url: string, tuning: RedisClientTuning = {}, watch?: ConnectionWatch): Redis {
  return watched(
    new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: tuning.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      connectTimeout: tuning.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      retryStrategy: retryStrategy(tuning.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS),
      connectionName: 'llmgw-request-path',
    }),
    watch,
  );
}

/**
 * The client for the queue's request-path calls (enqueue, read, counts):
 * fails at once while disconnected (no offline queue), but has no command
 * timeout, because BullMQ's one-time set-up on it (scripts, version check)
 * must not be lost to a slow moment: a rejected set-up would disable the
 * queue for good. Callers bound each call themselves (withTimeout).
 */
export function queueClient(url: string, tuning: RedisClientTuning = {}, watch?: ConnectionWatch): Redis {
  return watched(
    new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: tuning.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      retryStrategy: retryStrategy(tuning.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS),
      connectionName: 'llmgw-jobs-queue',
    }),
    watch,
  );
}

/**
 * The client for BullMQ's worker (which duplicates it for its blocking
 * commands): BullMQ requires `maxRetriesPerRequest: null`, and commands wait
 * across reconnects instead of failing, so the worker resumes by itself.
 */
export function workerClient(url: string, tuning: RedisClientTuning = {}, watch?: ConnectionWatch): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    connectTimeout: tuning.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    retryStrategy: retryStrategy(tuning.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS),
    connectionName: 'llmgw-jobs-worker',
  };
  return watched(new Redis(url, options), watch);
}

/**
 * An 'error' event without a listener would crash the process: every client
 * gets one, which tells `watch` once per outage rather than once per attempt.
 */
function watched(client: Redis, watch: ConnectionWatch | undefined): Redis {
  let down = false;
  const lost = (err: unknown) => {
    if (down) return;
    down = true;
    watch?.down(err);
  };
  client.on('error', lost);
  // A server that closes the connection cleanly emits no error, only a reconnect.
  client.on('reconnecting', () => lost(new Error('connection to Redis lost; reconnecting')));
  client.on('ready', () => {
    if (!down) return;
    down = false;
    watch?.up();
  });
  return client;
}

/** Rejects after `ms` when `promise` has not settled (the timer never holds the process open). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Closes a client politely (QUIT) when connected, at once otherwise. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await withTimeout(client.quit(), 500, 'QUIT');
      return;
    } catch {
      // fall through to disconnect
    }
  }
  client.disconnect();
}
