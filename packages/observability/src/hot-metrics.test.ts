import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotGauge, HotHistogram } from './hot-metrics.ts';

// The hot metrics must be indistinguishable from prom-client's at the scrape: the same
// updates give the same exposition text, in both formats prom-client's registry speaks.

const BUCKETS = [0.005, 0.01, 0.5, 1, 30];
const LABEL = fc.constantFrom('gpt-4o-mini', 'other', 'a "quoted"\\name', 'x\ny');

type Update =
  | { kind: 'counter'; a: string; b: string; n: number }
  | { kind: 'gauge'; a: string; op: 'set' | 'inc' | 'dec'; n: number }
  | { kind: 'plain'; op: 'inc' | 'dec' }
  | { kind: 'histogram'; a: string; b: string; v: number };

const update: fc.Arbitrary<Update> = fc.oneof(
  fc.record({ kind: fc.constant('counter' as const), a: LABEL, b: LABEL, n: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1e6, noNaN: true })) }),
  fc.record({ kind: fc.constant('gauge' as const), a: LABEL, op: fc.constantFrom('set' as const, 'inc' as const, 'dec' as const), n: fc.double({ min: -1e6, max: 1e6, noNaN: true }) }),
  fc.record({ kind: fc.constant('plain' as const), op: fc.constantFrom('inc' as const, 'dec' as const) }),
  fc.record({ kind: fc.constant('histogram' as const), a: LABEL, b: LABEL, v: fc.oneof(fc.constantFrom(0, 0.005, 0.01, 1, 30, 31, -1), fc.double({ min: -10, max: 100, noNaN: true })) }),
);

/** One registry of prom-client's metrics and one of ours, fed the same updates. */
function pair(contentType: string) {
  const theirs = new Registry<never>();
  const ours = new Registry<never>();
  theirs.setContentType(contentType as never);
  ours.setContentType(contentType as never);
  const c1 = new Counter({ name: 'c_total', help: 'a counter', labelNames: ['a', 'b'], registers: [theirs] });
  const g1 = new Gauge({ name: 'g', help: 'a gauge', labelNames: ['a'], registers: [theirs] });
  const p1 = new Gauge({ name: 'p', help: 'an unlabelled gauge', labelNames: [], registers: [theirs] });
  const h1 = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['a', 'b'], buckets: BUCKETS, registers: [theirs] });
  const c2 = new HotCounter({ name: 'c_total', help: 'a counter', labelNames: ['a', 'b'], registers: [ours] });
  const g2 = new HotGauge({ name: 'g', help: 'a gauge', labelNames: ['a'], registers: [ours] });
  const p2 = new HotGauge({ name: 'p', help: 'an unlabelled gauge', labelNames: [], registers: [ours] }).labels();
  const h2 = new HotHistogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['a', 'b'], buckets: BUCKETS, registers: [ours] });
  const apply = (u: Update) => {
    if (u.kind === 'counter') {
      c1.labels(u.a, u.b).inc(u.n);
      c2.labels(u.a, u.b).inc(u.n);
    } else if (u.kind === 'gauge') {
      g1.labels(u.a)[u.op](u.n);
      g2.labels(u.a)[u.op](u.n);
    } else if (u.kind === 'plain') {
      p1[u.op]();
      p2[u.op]();
    } else {
      h1.labels(u.a, u.b).observe(u.v);
      h2.labels(u.a, u.b).observe(u.v);
    }
  };
  return { theirs, ours, apply };
}

describe('hot metrics', () => {
  for (const [format, type] of [['Prometheus text', Registry.PROMETHEUS_CONTENT_TYPE], ['OpenMetrics', Registry.OPENMETRICS_CONTENT_TYPE]] as const) {
    it(`expose exactly what prom-client's own metrics expose for the same updates (${format})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(update, { maxLength: 60 }), async (updates) => {
          const { theirs, ours, apply } = pair(type);
          for (const u of updates) apply(u);
          expect(await ours.metrics()).toBe(await theirs.metrics());
          expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
        }),
        { seed: 20261125, numRuns: 300 },
      );
    });
  }

  it('refuses what prom-client refuses: a counter going down, a non-finite observation, wrong label counts, `le`', () => {
    const registry = new Registry();
    const counter = new HotCounter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [registry] });
    expect(() => counter.labels('x').inc(-1)).toThrow(/only goes up/);
    expect(() => counter.labels('x').inc(Number.POSITIVE_INFINITY)).toThrow(/only goes up/);
    expect(() => counter.labels('x', 'y')).toThrow(/expected 1 label values, got 2/);
    const histogram = new HotHistogram({ name: 'h', help: 'h', labelNames: ['a'], buckets: BUCKETS, registers: [registry] });
    expect(() => histogram.labels('x').observe(Number.NaN)).toThrow(TypeError);
    expect(() => new HotHistogram({ name: 'h2', help: 'h', labelNames: ['le'], buckets: BUCKETS, registers: [registry] })).toThrow(/le is a reserved/);
    expect(registry.getSingleMetric('h2')).toBeUndefined();
    expect(() => new HotCounter({ name: 'c_total', help: 'twice', labelNames: [], registers: [registry] })).toThrow(/already been registered/);
  });

  it('zeroes on reset, and the children callers hold keep counting', async () => {
    const registry = new Registry();
    const child = new HotCounter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [registry] }).labels('x');
    child.inc(5);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('c_total{a="x"} 0');
    child.inc();
    expect(await registry.metrics()).toContain('c_total{a="x"} 1');
  });
});
