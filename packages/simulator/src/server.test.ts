import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { simulatorOptionsFromEnv } from './config.ts';
import { LruCache } from './lru.ts';
import { ScenarioError } from './scenario.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from './server.ts';
import { chat, completionText } from './test-helpers.ts';

const running: Simulator[] = [];
async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options);
  running.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

describe('startSimulator', () => {
  it('listens on 127.0.0.1 with a random port and reports its URL', async () => {
    const sim = await start();
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    expect(sim.port).toBeGreaterThan(0);
  });

  it('rejects an invalid scenario up front and in setScenario', async () => {
    await expect(startSimulator({ scenario: { rules: [{ model: '*', kind: 'nope' }] } })).rejects.toThrow(ScenarioError);
    const sim = await start();
    expect(() => sim.setScenario({ rules: [{ model: '*', kind: 'status' }] })).toThrow(/rules\[0\]\.status/);
  });

  it('requires the API key when one is configured, in each format\'s way', async () => {
    const sim = await start({ apiKey: 'sk-test' });
    const denied = await chat(sim.url, 'openai');
    expect(denied.status).toBe(401);
    expect((await denied.json()).error.code).toBe('invalid_api_key');
    expect((await chat(sim.url, 'openai', { headers: { authorization: 'Bearer sk-test' } })).status).toBe(200);
    const deniedA = await chat(sim.url, 'anthropic', { headers: { 'x-api-key': 'wrong' } });
    expect(deniedA.status).toBe(401);
    expect((await deniedA.json()).error.type).toBe('authentication_error');
    expect((await chat(sim.url, 'anthropic', { headers: { 'x-api-key': 'sk-test' } })).status).toBe(200);
    expect((await fetch(`${sim.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${sim.url}/v1/models`, { headers: { authorization: 'Bearer sk-test' } })).status).toBe(200);
  });

  it('close() resolves while a request hangs, and the client sees the connection end', async () => {
    const sim = await startSimulator({ scenario: { rules: [{ model: '*', kind: 'hang' }] } });
    const pending = chat(sim.url, 'openai').then(
      () => 'answered',
      () => 'failed',
    );
    await waitFor(() => sim.recorder.attempts().length === 1);
    const started = performance.now();
    await sim.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('failed');
  });

  it('close() also ends stalled streams and pending latency', async () => {
    const sim = await startSimulator({
      scenario: { rules: [{ model: 'a', kind: 'stream_stall', after_chunks: 1 }, { model: 'b', kind: 'latency', ms: 60_000 }] },
    });
    const stalled = await chat(sim.url, 'openai', { model: 'a', stream: true });
    const delayed = chat(sim.url, 'openai', { model: 'b' }).then(() => 'answered', () => 'failed');
    await waitFor(() => sim.recorder.attempts('b').length === 1);
    await sim.close();
    await expect(stalled.text()).rejects.toThrow();
    expect(await delayed).toBe('failed');
  });
});

describe('time windows', () => {
  it('an outage window opens and recovers on the injected clock', async () => {
    let clock = 5_000_000;
    const sim = await start({ now: () => clock, scenario: { rules: [{ model: 'gpt-4o', kind: 'outage', window: { afterMs: 1_000, forMs: 30_000 } }] } });
    const statusAt = async (elapsed: number) => {
      clock = 5_000_000 + elapsed;
      return (await chat(sim.url, 'openai', { model: 'gpt-4o' })).status;
    };
    expect(await statusAt(0)).toBe(200);
    expect(await statusAt(1_000)).toBe(503);
    expect(await statusAt(30_999)).toBe(503);
    expect(await statusAt(31_000)).toBe(200);
    expect((await chat(sim.url, 'openai', { model: 'gpt-4o-mini' })).status).toBe(200);
    // setScenario restarts the scenario clock.
    sim.setScenario(sim.scenario);
    expect(await statusAt(31_000)).toBe(200);
    expect(await statusAt(32_000)).toBe(503);
    expect(sim.recorder.attempts('gpt-4o').map((r) => r.receivedAt - 5_000_000)).toEqual([0, 1_000, 30_999, 31_000, 31_000, 32_000]);
  });
});

describe('reproducibility', () => {
  it('the same seed gives the same fault sequence and answers', async () => {
    const scenario = { seed: 99, rules: [{ model: '*', kind: 'status', status: 500, probability: 0.5 }] };
    const run = async () => {
      const sim = await start({ scenario });
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await chat(sim.url, 'openai');
        out.push(res.status === 200 ? completionText('openai', await res.json()) : String(res.status));
      }
      return out;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first).toContain('500');
    expect(first.some((s) => s !== '500')).toBe(true);
  });
});

describe('recorder', () => {
  it('records every request with model, format, stream, timing, status, fault and headers seen', async () => {
    const sim = await start({ scenario: { rules: [{ model: 'gpt-4o', kind: 'status', status: 429, attempts: { first: 1 } }] } });
    await chat(sim.url, 'openai', { model: 'gpt-4o', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', authorization: 'Bearer x' } });
    await chat(sim.url, 'openai', { model: 'gpt-4o', stream: true });
    await chat(sim.url, 'anthropic', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] });
    await chat(sim.url, 'openai', { extra: { messages: 'nope' } });
    const all = sim.recorder.attempts();
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(all[0]).toMatchObject({
      model: 'gpt-4o', format: 'openai', stream: false, status: 429, fault: 'status', attempt: 1,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', authorization: true, lastMessageRole: 'user', messages: 1,
    });
    expect(all[1]).toMatchObject({ model: 'gpt-4o', stream: true, status: 200, attempt: 2, authorization: false, outcome: 'ok' });
    expect(all[1]!.fault).toBeUndefined();
    expect(all[1]!.traceparent).toBeUndefined();
    expect(all[2]).toMatchObject({ model: 'claude-3.5-sonnet', format: 'anthropic', lastMessageRole: 'assistant', messages: 2, authorization: false });
    expect(all[3]).toMatchObject({ model: 'gpt-4o-mini', status: 400, attempt: 0, outcome: 'error' });
    for (const r of all) {
      expect(r.respondedAt!).toBeGreaterThanOrEqual(r.receivedAt);
      expect(r.endedAt!).toBeGreaterThanOrEqual(r.respondedAt!);
      expect(Math.abs(r.receivedAt - Date.now())).toBeLessThan(60_000); // epoch-based
    }
    expect(sim.recorder.attempts('gpt-4o')).toHaveLength(2);
    expect(sim.recorder.spacing('gpt-4o')).toEqual([all[1]!.receivedAt - all[0]!.receivedAt]);
    sim.recorder.clear();
    expect(sim.recorder.attempts()).toEqual([]);
  });

  it('drops the oldest records past maxRecords', async () => {
    const sim = await start({ maxRecords: 4 });
    for (let i = 0; i < 7; i++) await chat(sim.url, 'openai');
    const seqs = sim.recorder.attempts().map((r) => r.seq);
    expect(seqs.length).toBeLessThanOrEqual(4);
    expect(seqs.at(-1)).toBe(7);
  });
});

describe('admin API', () => {
  it('is off unless enabled', async () => {
    const sim = await start();
    expect((await fetch(`${sim.url}/_sim/records`)).status).toBe(404);
    expect((await fetch(`${sim.url}/_sim/scenario`, { method: 'PUT', body: '{"rules":[]}' })).status).toBe(404);
  });

  it('sets scenarios, rejects bad ones with every issue, serves records and resets', async () => {
    const sim = await start({ admin: true });
    const bad = await fetch(`${sim.url}/_sim/scenario`, { method: 'PUT', body: JSON.stringify({ rules: [{ model: '*', kind: 'status', status: 99 }, { kind: 'x' }] }) });
    expect(bad.status).toBe(400);
    const badBody = await bad.json();
    expect(badBody.error.type).toBe('invalid_scenario');
    expect(badBody.error.issues.length).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${sim.url}/_sim/scenario`, { method: 'PUT', body: '{nope' })).status).toBe(400);

    const good = await fetch(`${sim.url}/_sim/scenario`, { method: 'PUT', body: JSON.stringify({ rules: [{ model: 'gpt-4o', kind: 'status', status: 502, attempts: { first: 1 } }] }) });
    expect(await good.json()).toEqual({ ok: true, rules: 1 });
    expect((await (await fetch(`${sim.url}/_sim/scenario`)).json()).rules[0].status).toBe(502);
    expect((await chat(sim.url, 'openai', { model: 'gpt-4o' })).status).toBe(502);
    expect((await chat(sim.url, 'openai', { model: 'gpt-4o' })).status).toBe(200);
    await chat(sim.url, 'openai', { model: 'other' });

    const records = (await (await fetch(`${sim.url}/_sim/records?model=gpt-4o`)).json()).records;
    expect(records.map((r: { status: number }) => r.status)).toEqual([502, 200]);
    expect((await (await fetch(`${sim.url}/_sim/records`)).json()).records).toHaveLength(3);

    expect((await fetch(`${sim.url}/_sim/reset`, { method: 'POST' })).status).toBe(200);
    expect((await (await fetch(`${sim.url}/_sim/records`)).json()).records).toEqual([]);
    // Counters restarted: attempt 1 fails again.
    expect((await chat(sim.url, 'openai', { model: 'gpt-4o' })).status).toBe(502);
  });
});

describe('configuration from the environment', () => {
  it('reads SIM_* variables; SIM_SCENARIO wins over SIM_SCENARIO_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-'));
    const file = join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify({ rules: [{ model: '*', kind: 'reset' }] }));
    expect(simulatorOptionsFromEnv({ SIM_SCENARIO_FILE: file, SIM_ADMIN: '1', SIM_PORT: '0', SIM_SEED: '5', SIM_API_KEY: 'k' })).toEqual({
      scenario: { rules: [{ model: '*', kind: 'reset' }] },
      admin: true,
      port: 0,
      seed: 5,
      apiKey: 'k',
    });
    expect(simulatorOptionsFromEnv({ SIM_SCENARIO: '{"rules":[]}', SIM_SCENARIO_FILE: file }).scenario).toEqual({ rules: [] });
    expect(simulatorOptionsFromEnv({})).toEqual({});
    expect(() => simulatorOptionsFromEnv({ SIM_SCENARIO: '{"rules":[{"model":"*"}]}' })).toThrow(/SIM_SCENARIO|kind: missing/);
    expect(() => simulatorOptionsFromEnv({ SIM_SCENARIO_FILE: join(dir, 'missing.json') })).toThrow(/scenario file/);
  });

  it('the CLI prints the URL and serves requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-'));
    const file = join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify({ rules: [{ model: 'gpt-4o', kind: 'outage' }] }));
    const child = spawn(process.execPath, ['--conditions=source', join(import.meta.dirname, 'main.ts'), '--port', '0', '--scenario', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SIM_ADMIN: '1' },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        child.once('exit', (code) => reject(new Error(`CLI exited with ${code}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await chat(url, 'openai', { model: 'gpt-4o' })).status).toBe(503);
      expect((await fetch(`${url}/_sim/records`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('LruCache', () => {
  it('keeps at most its size, evicting the least recently used', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.size]).toEqual([1, undefined, 3, 2]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
