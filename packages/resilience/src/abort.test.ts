import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NEVER_ABORTED, linkAbort, sleep, throwIfAborted } from './abort.ts';
import { isGatewayError, timeoutError } from './errors.ts';

describe('sleep', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resolves after the delay and leaves no timer behind', async () => {
    let done = false;
    void sleep(1000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once on abort, clearing the timer and the listener', async () => {
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, 'addEventListener');
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    const p = sleep(10_000, controller.signal);
    controller.abort();
    await expect(p).rejects.toMatchObject({ kind: 'aborted', code: 'request_timeout' });
    expect(vi.getTimerCount()).toBe(0);
    expect(add).toHaveBeenCalledTimes(1);
    // `once` listeners remove themselves when they fire; after a normal wake-up we remove it.
    const c2 = new AbortController();
    const remove2 = vi.spyOn(c2.signal, 'removeEventListener');
    const p2 = sleep(5, c2.signal);
    await vi.advanceTimersByTimeAsync(5);
    await p2;
    expect(remove2).toHaveBeenCalledTimes(1);
    expect(remove).not.toHaveBeenCalled();
  });

  it('an already-aborted signal rejects with its typed reason', async () => {
    const reason = timeoutError('timeout_total', 5);
    await expect(sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

describe('linkAbort', () => {
  it('propagates the parent reason and unlinks', () => {
    const parent = new AbortController();
    const child = new AbortController();
    const unlink = linkAbort(parent.signal, child);
    parent.abort('why');
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe('why');
    unlink();

    const p2 = new AbortController();
    const c2 = new AbortController();
    linkAbort(p2.signal, c2)();
    p2.abort();
    expect(c2.signal.aborted).toBe(false);
  });

  it('an already-aborted parent aborts the child immediately; NEVER_ABORTED costs nothing', () => {
    const child = new AbortController();
    linkAbort(AbortSignal.abort('x'), child);
    expect(child.signal.reason).toBe('x');
    const c2 = new AbortController();
    linkAbort(NEVER_ABORTED, c2)();
    expect(c2.signal.aborted).toBe(false);
  });
});

describe('throwIfAborted', () => {
  it('throws a GatewayError only when aborted', () => {
    expect(() => throwIfAborted(NEVER_ABORTED)).not.toThrow();
    try {
      throwIfAborted(AbortSignal.abort());
      expect.unreachable();
    } catch (e) {
      expect(isGatewayError(e) && e.kind).toBe('aborted');
    }
  });
});
