/**
 * Bulkhead: at most `maxConcurrent` calls run at once; up to `maxQueue` more
 * wait in FIFO order (abortably); beyond that, callers are rejected at once
 * with `bulkhead_rejected` (503, retryable): a slow upstream cannot take
 * every socket and every request of the gateway with it.
 */
import { abortedError, bulkheadRejectedError } from './errors.ts';
import { EventEmitter } from './events.ts';
import { toContext, type ExecuteOptions, type Policy, type PolicyFn } from './policy.ts';

export interface BulkheadOptions {
  /** Names the upstream in error messages. Default 'upstream'. */
  name?: string;
  /** Calls running at once. Default 100 (contract `bulkhead.maxConcurrent`). */
  maxConcurrent?: number;
  /** Calls waiting for a slot. Default 100 (contract `bulkhead.maxQueue`). */
  maxQueue?: number;
}

export const DEFAULT_BULKHEAD_MAX_CONCURRENT = 100;
export const DEFAULT_BULKHEAD_MAX_QUEUE = 100;

export interface BulkheadRejectEvent {
  active: number;
  queued: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class Bulkhead implements Policy {
  readonly name: string;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  #active = 0;
  readonly #queue: Waiter[] = [];
  readonly #reject = new EventEmitter<BulkheadRejectEvent>();
  /** Fired for every call turned away. */
  readonly onReject = this.#reject.on;

  constructor(options: BulkheadOptions = {}) {
    this.name = options.name ?? 'upstream';
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? DEFAULT_BULKHEAD_MAX_CONCURRENT);
    this.maxQueue = Math.max(0, options.maxQueue ?? DEFAULT_BULKHEAD_MAX_QUEUE);
  }

  /** Calls running now. */
  get active(): number {
    return this.#active;
  }
  /** Calls waiting now. */
  get queued(): number {
    return this.#queue.length;
  }
  /** Would a call start or queue right now? */
  canAttempt(): boolean {
    return this.#active < this.maxConcurrent || this.#queue.length < this.maxQueue;
  }

  async execute<T>(fn: PolicyFn<T>, options?: AbortSignal | ExecuteOptions): Promise<T> {
    const ctx = toContext(options);
    const wait = this.#enter(ctx.signal);
    if (wait !== undefined) await wait;
    try {
      return await fn(ctx);
    } finally {
      this.#release();
    }
  }

  /**
   * A slot held beyond one promise (a stream, from its request to its end): waits and rejects
   * as `execute` does, and resolves to the function that gives the slot back (once; later
   * calls do nothing).
   */
  async acquire(signal: AbortSignal): Promise<() => void> {
    const wait = this.#enter(signal);
    if (wait !== undefined) await wait;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#release();
    };
  }

  /**
   * Takes a slot at once (undefined: no await, so no extra microtask turn on the common path),
   * or returns the wait for one. Throws for a caller that already left.
   */
  #enter(signal: AbortSignal): Promise<void> | undefined {
    if (signal.aborted) throw abortedError(signal.reason);
    if (this.#active >= this.maxConcurrent) return this.#enqueue(signal);
    this.#active++;
    return undefined;
  }

  #enqueue(signal: AbortSignal): Promise<void> {
    if (this.#queue.length >= this.maxQueue) {
      if (this.#reject.hasListeners) this.#reject.emit({ active: this.#active, queued: this.#queue.length });
      return Promise.reject(bulkheadRejectedError(`Too many concurrent calls to ${this.name}: ${this.#active} running, ${this.#queue.length} queued`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.#queue.indexOf(waiter);
          if (index !== -1) this.#queue.splice(index, 1);
          reject(abortedError(signal.reason));
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#active--;
      return;
    }
    // Hand the slot straight to the next waiter: `active` stays the same.
    next.signal.removeEventListener('abort', next.onAbort);
    next.resolve();
  }
}
