import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@llmgw/simulator';
import { createOpenAiProvider } from './openai.ts';
import { UpstreamPools, toUndiciPoolOptions } from './pool.ts';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, scenario: { rules: [{ model: '*', kind: 'latency', ms: 60 }] } });
});

afterAll(async () => {
  await sim.close();
});

/** The most requests the simulator had open at the same time. */
function maxConcurrent(): number {
  const edges: Array<[number, number]> = [];
  for (const r of sim.recorder.all()) {
    edges.push([r.receivedAt, 1], [r.endedAt ?? Infinity, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (open += d));
  return max;
}

describe('UpstreamPools', () => {
  it('never has more requests in flight to an origin than its connections', async () => {
    sim.reset();
    const pools = new UpstreamPools();
    const provider = createOpenAiProvider({ name: 'sim', baseUrl: `${sim.url}/v1`, dispatcher: pools.poolFor(sim.url, { connections: 2, keepAlive: 2 }) });
    const timeouts = { connectMs: 1000, firstTokenMs: 5000, streamIdleMs: 5000, totalMs: 5000 };
    const calls = Array.from({ length: 8 }, (_, i) =>
      provider.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }] }, { signal: new AbortController().signal, timeouts }),
    );
    await Promise.all(calls);
    expect(sim.recorder.all()).toHaveLength(8);
    expect(maxConcurrent()).toBe(2);
    await pools.closeAll();
  });

  it('without a bound the same burst runs concurrently (the test can fail)', async () => {
    sim.reset();
    const pools = new UpstreamPools();
    const provider = createOpenAiProvider({ name: 'sim', baseUrl: `${sim.url}/v1`, dispatcher: pools.poolFor(sim.url, { connections: 50, keepAlive: 20 }) });
    const timeouts = { connectMs: 1000, firstTokenMs: 5000, streamIdleMs: 5000, totalMs: 5000 };
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        provider.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }] }, { signal: new AbortController().signal, timeouts }),
      ),
    );
    expect(maxConcurrent()).toBeGreaterThan(2);
    await pools.closeAll();
  });

  it('shares one pool per origin and closes them all', async () => {
    const pools = new UpstreamPools();
    const a = pools.poolFor(`${sim.url}/v1`);
    const b = pools.poolFor(sim.url);
    expect(a).toBe(b);
    expect(pools.size).toBe(1);
    await pools.closeAll();
    expect(pools.size).toBe(0);
    expect(a.closed).toBe(true);
  });

  it('maps the article limits to undici options', () => {
    expect(toUndiciPoolOptions({ connections: 100, keepAlive: 20 })).toMatchObject({
      connections: 100,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      connect: { timeout: 2000 },
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    expect(toUndiciPoolOptions({ connections: 5, keepAlive: 0, connectTimeoutMs: 300 })).toMatchObject({ pipelining: 0, connect: { timeout: 300 } });
  });
});
