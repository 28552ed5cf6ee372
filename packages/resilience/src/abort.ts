/**
 * AbortSignal plumbing shared by the policies: an abortable sleep that always
 * clears its timer, and parent -> child signal links that always unlink.
 */
import { abortedError } from './errors.ts';

/** A signal that never aborts: the default when a caller passes none. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** Throws the caller's abort as a GatewayError (kind 'aborted', or the reason if typed). */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortedError(signal.reason);
}

/**
 * Resolves after `ms`, or rejects with `abortedError(signal.reason)` as soon
 * as the signal aborts. The timer and the listener are removed either way.
 */
export function sleep(ms: number, signal: AbortSignal = NEVER_ABORTED): Promise<void> {
  if (signal.aborted) return Promise.reject(abortedError(signal.reason));
  if (ms <= 0 && signal === NEVER_ABORTED) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal.reason));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Aborts `child` when `parent` aborts (with the parent's reason). Returns the
 * unlink function; call it in `finally` so a long-lived parent signal does not
 * collect one listener per call.
 */
export function linkAbort(parent: AbortSignal, child: AbortController): () => void {
  if (parent === NEVER_ABORTED) return noop;
  if (parent.aborted) {
    child.abort(parent.reason);
    return noop;
  }
  const onAbort = () => child.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return () => parent.removeEventListener('abort', onAbort);
}

function noop(): void {}
