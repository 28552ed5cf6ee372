import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decide } from './classify.ts';
import { isGatewayError, type GatewayError } from './errors.ts';
import { TimeoutPolicy, deadlineIn, earliest, isExpired, remaining, withStreamTimeouts, withTimeout } from './timeout.ts';

/** A controllable stream source that records whether it was cancelled. */
function source<T>() {
  const pending: ((r: IteratorResult<T>) => void)[] = [];
  const ready: IteratorResult<T>[] = [];
  let returned = false;
  const iterator: AsyncIterator<T> & AsyncIterable<T> = {
    next: () =>
      new Promise((resolve) => {
        const r = ready.shift();
        if (r) resolve(r);
        else pending.push(resolve);
      }),
    return: async () => {
      returned = true;
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return {
    iterator,
    push(value: T) {
      const r = { done: false, value } as IteratorResult<T>;
      const p = pending.shift();
      if (p) p(r);
      else ready.push(r);
    },
    end() {
      const r = { done: true, value: undefined } as IteratorResult<T>;
      const p = pending.shift();
      if (p) p(r);
      else ready.push(r);
    },
    get returned() {
      return returned;
    },
  };
}

describe('deadline helpers', () => {
  it('compute remaining time, expiry and the earliest deadline', () => {
    expect(deadlineIn(500, 1000)).toBe(1500);
    expect(remaining(1500, 1000)).toBe(500);
    expect(remaining(1500, 2000)).toBe(0);
    expect(remaining(undefined, 2000)).toBe(Infinity);
    expect([isExpired(1500, 1499), isExpired(1500, 1500), isExpired(undefined)]).toEqual([false, true, false]);
    expect([earliest(1, 2), earliest(undefined, 2), earliest(3, undefined), earliest(undefined, undefined)]).toEqual([
      1,
      2,
      3,
      undefined,
    ]);
  });
});

describe('withTimeout', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('resolves in time and clears its timer', async () => {
    await expect(withTimeout(async () => 'ok', 1000)).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('aborts the inner signal and throws a typed, retryable timeout', async () => {
    let inner: AbortSignal | undefined;
    const p = withTimeout((signal) => {
      inner = signal;
      return new Promise(() => {}); // ignores its signal entirely
    }, 15_000);
    const settled = expect(p).rejects.toMatchObject({
      code: 'upstream_timeout',
      status: 504,
      retryable: true,
      kind: 'timeout_total',
    });
    await vi.advanceTimersByTimeAsync(15_000);
    await settled;
    expect(inner?.aborted).toBe(true);
    expect(isGatewayError(inner?.reason)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('uses the given kind', async () => {
    const p = withTimeout(() => new Promise(() => {}), 2000, 'timeout_connect');
    const settled = expect(p).rejects.toMatchObject({ kind: 'timeout_connect' });
    await vi.advanceTimersByTimeAsync(2000);
    await settled;
  });

  it('passes a parent abort through and stops at once', async () => {
    const parent = new AbortController();
    let inner: AbortSignal | undefined;
    const p = withTimeout(
      (signal) => {
        inner = signal;
        return new Promise(() => {});
      },
      10_000,
      'timeout_total',
      parent.signal,
    );
    parent.abort();
    await expect(p).rejects.toMatchObject({ kind: 'aborted' });
    expect(inner?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rethrows fn errors (sync or async) unchanged', async () => {
    const e = new Error('x');
    await expect(withTimeout(() => Promise.reject(e), 100)).rejects.toBe(e);
    await expect(
      withTimeout(() => {
        throw e;
      }, 100),
    ).rejects.toBe(e);
  });
});

describe('TimeoutPolicy', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('cuts each attempt to the smaller of its limit and the caller deadline', async () => {
    const policy = new TimeoutPolicy(10_000, { name: "Model 'gpt-4o-mini'" });
    let seen: { deadline: number | undefined; attempt: number } | undefined;
    const p = policy.execute(
      (ctx) => {
        seen = { deadline: ctx.deadline, attempt: ctx.attempt };
        return new Promise(() => {});
      },
      { deadline: 3000, attempt: 2 },
    );
    const settled = expect(p).rejects.toMatchObject({ kind: 'timeout_total' });
    await vi.advanceTimersByTimeAsync(3000);
    const error = (await p.catch((e) => e)) as GatewayError;
    await settled;
    expect(seen).toEqual({ deadline: 3000, attempt: 2 });
    expect(error.message).toBe("Model 'gpt-4o-mini' did not answer within 3000 ms");
    expect(decide(error)).toBe('retry');
  });

  it('without a caller deadline, sets its own', async () => {
    let deadline: number | undefined;
    await new TimeoutPolicy(500).execute((ctx) => (deadline = ctx.deadline));
    expect(deadline).toBe(500);
  });
});

describe('withStreamTimeouts', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  async function collect<T>(it: AsyncIterable<T>) {
    const out: T[] = [];
    for await (const x of it) out.push(x);
    return out;
  }

  it('passes items through when they arrive in time', async () => {
    const s = source<string>();
    const done = collect(withStreamTimeouts(s.iterator, { firstChunkMs: 1000, idleMs: 500 }));
    await vi.advanceTimersByTimeAsync(900);
    s.push('a');
    await vi.advanceTimersByTimeAsync(400);
    s.push('b');
    s.end();
    await expect(done).resolves.toEqual(['a', 'b']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a silent start throws timeout_first_token (failover-now) and cancels the source', async () => {
    const s = source<string>();
    const onTimeout = vi.fn();
    const done = collect(withStreamTimeouts(s.iterator, { firstChunkMs: 5000, idleMs: 500, onTimeout }));
    const settled = expect(done).rejects.toMatchObject({ kind: 'timeout_first_token', code: 'upstream_timeout' });
    await vi.advanceTimersByTimeAsync(5000);
    const error = await done.catch((e) => e);
    await settled;
    expect(decide(error)).toBe('failover-now');
    expect(onTimeout).toHaveBeenCalledWith(error);
    expect(s.returned).toBe(true);
  });

  it('a stall mid-stream throws timeout_idle after the items already seen', async () => {
    const s = source<number>();
    const seen: number[] = [];
    const run = (async () => {
      for await (const x of withStreamTimeouts(s.iterator, { firstChunkMs: 5000, idleMs: 1000 })) seen.push(x);
    })();
    const settled = expect(run).rejects.toMatchObject({ kind: 'timeout_idle' });
    s.push(1);
    await vi.advanceTimersByTimeAsync(999);
    s.push(2);
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    expect(seen).toEqual([1, 2]);
    expect(s.returned).toBe(true);
  });

  it('the consumer breaking early cancels the source', async () => {
    const s = source<number>();
    s.push(1);
    s.push(2);
    for await (const x of withStreamTimeouts(s.iterator, { idleMs: 100 })) {
      expect(x).toBe(1);
      break;
    }
    expect(s.returned).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a caller abort ends the stream with an aborted error', async () => {
    const s = source<number>();
    const controller = new AbortController();
    const done = collect(withStreamTimeouts(s.iterator, { firstChunkMs: 5000, signal: controller.signal }));
    controller.abort();
    await expect(done).rejects.toMatchObject({ kind: 'aborted' });
    expect(s.returned).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a source error passes through and the source is not poked again', async () => {
    const ret = vi.fn();
    const failing: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new Error('reset')),
        return: async () => {
          ret();
          return { done: true, value: undefined };
        },
      }),
    };
    await expect(collect(withStreamTimeouts(failing, { firstChunkMs: 100 }))).rejects.toThrow('reset');
    expect(ret).not.toHaveBeenCalled();
  });

  it('works with an async generator and no limits', async () => {
    async function* gen() {
      yield 1;
      yield 2;
    }
    await expect(collect(withStreamTimeouts(gen(), {}))).resolves.toEqual([1, 2]);
  });
});
