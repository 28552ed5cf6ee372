/**
 * A tiny typed event emitter. `on(listener)` returns a disposable, so metrics
 * and logs subscribe from the outside and policies never import them.
 *
 * Emitting with no listeners is one field read. Policies also check
 * `hasListeners` before building an event payload, so an unobserved policy
 * allocates nothing for its events.
 */

export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (event: T) => void;

/** The subscribe half of an emitter, the part a policy exposes publicly. */
export type Event<T> = (listener: Listener<T>) => Disposable;

export class EventEmitter<T> {
  // Copy-on-write: emit iterates the current array without copying, and a
  // listener that disposes itself mid-emit does not disturb the loop.
  #listeners: readonly Listener<T>[] = EMPTY;

  /** Subscribe; call `dispose()` on the result to unsubscribe (idempotent). */
  readonly on: Event<T> = (listener) => {
    this.#listeners = [...this.#listeners, listener];
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        const index = this.#listeners.indexOf(listener);
        if (index === -1) return;
        const next = this.#listeners.slice();
        next.splice(index, 1);
        this.#listeners = next.length === 0 ? EMPTY : next;
      },
    };
  };

  get hasListeners(): boolean {
    return this.#listeners.length !== 0;
  }

  get listenerCount(): number {
    return this.#listeners.length;
  }

  emit(event: T): void {
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    for (const listener of listeners) {
      // A broken metrics listener must never change a call's outcome.
      try {
        listener(event);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

function reportListenerError(error: unknown): void {
  // `reportError` is the web-standard sink (browsers, Deno, Bun); where it is
  // missing the error is dropped rather than crashing the caller's request.
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
}
