import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Bulkhead } from './bulkhead.ts';
import { decide } from './classify.ts';

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('Bulkhead', () => {
  it('runs up to maxConcurrent, queues up to maxQueue, rejects the rest', async () => {
    const bulkhead = new Bulkhead({ name: 'anthropic', maxConcurrent: 2, maxQueue: 1 });
    const rejects: unknown[] = [];
    bulkhead.onReject((e) => rejects.push(e));
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      bulkhead.execute(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect([bulkhead.active, bulkhead.queued, bulkhead.canAttempt()]).toEqual([2, 1, false]);

    const fn = vi.fn();
    const error = await bulkhead.execute(fn).catch((e) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toMatchObject({ code: 'bulkhead_rejected', status: 503, retryable: true, kind: 'bulkhead' });
    expect(error.message).toContain('anthropic');
    expect(decide(error)).toBe('failover-now');
    expect(rejects).toEqual([{ active: 2, queued: 1 }]);

    gates[0]!.open();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    gates[2]!.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
  });

  it('frees the slot when fn throws', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 });
    await expect(bulkhead.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(bulkhead.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('a queued caller can abort; it leaves the queue and never runs', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const g = gate();
    const first = bulkhead.execute(() => g.promise);
    const controller = new AbortController();
    const fn = vi.fn();
    const queued = bulkhead.execute(fn, controller.signal);
    await flush();
    expect(bulkhead.queued).toBe(1);
    controller.abort();
    await expect(queued).rejects.toMatchObject({ kind: 'aborted' });
    expect(bulkhead.queued).toBe(0);
    g.open();
    await first;
    expect(fn).not.toHaveBeenCalled();
    expect(bulkhead.active).toBe(0);
  });

  it('an already-aborted caller is refused without taking a slot', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    await expect(bulkhead.execute(() => 1, AbortSignal.abort())).rejects.toMatchObject({ kind: 'aborted' });
    expect(bulkhead.active).toBe(0);
  });

  it('acquire(): a slot held until it is given back (once), shared with execute and its queue', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const release = await bulkhead.acquire(new AbortController().signal);
    expect(bulkhead.active).toBe(1);
    let ran = false;
    const queued = bulkhead.execute(async () => {
      ran = true;
    });
    await expect(bulkhead.acquire(new AbortController().signal)).rejects.toMatchObject({ code: 'bulkhead_rejected' });
    await flush();
    expect(ran).toBe(false);
    release();
    release(); // a second call gives back nothing more
    await queued;
    expect(ran).toBe(true);
    expect(bulkhead.active).toBe(0);
    const left = new AbortController();
    left.abort();
    await expect(bulkhead.acquire(left.signal)).rejects.toMatchObject({ kind: 'aborted' });
    expect(bulkhead.active).toBe(0);
  });

  it('property: never more than maxConcurrent running, FIFO, all slots returned', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (maxConcurrent, maxQueue, ops) => {
          const bulkhead = new Bulkhead({ maxConcurrent, maxQueue });
          let running = 0;
          const order: number[] = [];
          const gates: ReturnType<typeof gate>[] = [];
          const all: Promise<unknown>[] = [];
          let id = 0;
          for (const start of ops) {
            if (start) {
              const g = gate();
              const me = id++;
              const p = bulkhead.execute(async () => {
                running++;
                order.push(me);
                expect(running).toBeLessThanOrEqual(maxConcurrent);
                await g.promise;
                running--;
              });
              gates.push(g);
              all.push(p.catch(() => {}));
            } else {
              gates.shift()?.open();
            }
            await flush();
          }
          for (const g of gates) g.open();
          await Promise.all(all);
          await flush();
          expect(order).toEqual([...order].sort((a, b) => a - b));
          expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
