import { describe, expect, it, vi } from 'vitest';
import { EventEmitter } from './events.ts';

describe('EventEmitter', () => {
  it('delivers events to every listener in subscription order', () => {
    const emitter = new EventEmitter<number>();
    const seen: string[] = [];
    emitter.on((n) => seen.push(`a${n}`));
    emitter.on((n) => seen.push(`b${n}`));
    emitter.emit(1);
    emitter.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('dispose unsubscribes, and is idempotent', () => {
    const emitter = new EventEmitter<number>();
    const a = vi.fn();
    const b = vi.fn();
    const subA = emitter.on(a);
    emitter.on(b);
    subA.dispose();
    subA.dispose();
    emitter.emit(7);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledWith(7);
    expect(emitter.listenerCount).toBe(1);
  });

  it('the same function subscribed twice is removed one subscription at a time', () => {
    const emitter = new EventEmitter<number>();
    const fn = vi.fn();
    const first = emitter.on(fn);
    emitter.on(fn);
    first.dispose();
    emitter.emit(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a listener disposing itself during emit does not skip the others', () => {
    const emitter = new EventEmitter<void>();
    const seen: string[] = [];
    const sub = emitter.on(() => {
      seen.push('self');
      sub.dispose();
    });
    emitter.on(() => seen.push('other'));
    emitter.emit();
    emitter.emit();
    expect(seen).toEqual(['self', 'other', 'other']);
  });

  it('reports hasListeners so callers can skip building payloads', () => {
    const emitter = new EventEmitter<{ x: number }>();
    expect(emitter.hasListeners).toBe(false);
    const sub = emitter.on(() => {});
    expect(emitter.hasListeners).toBe(true);
    sub.dispose();
    expect(emitter.hasListeners).toBe(false);
  });

  it('a throwing listener does not break emit or the other listeners', () => {
    const emitter = new EventEmitter<number>();
    const reportError = vi.fn();
    vi.stubGlobal('reportError', reportError);
    try {
      const boom = new Error('listener bug');
      emitter.on(() => {
        throw boom;
      });
      const after = vi.fn();
      emitter.on(after);
      expect(() => emitter.emit(1)).not.toThrow();
      expect(after).toHaveBeenCalledWith(1);
      expect(reportError).toHaveBeenCalledWith(boom);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
