// A real Prometheus (Debian's binary) scrapes the service every second while
// traffic with faults goes through the simulator; PromQL answers must match
// what was sent. The generated alert rules are loaded too, so this also shows
// Prometheus accepts and evaluates them against the service's real metrics.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, startStack, type Stack } from '../testing/stack.ts';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const RULES = fileURLToPath(new URL('../../../../packages/monitoring/src/generated/alert-rules.yml', import.meta.url));
const INSTALL_HINT = 'run .ci/prometheus.sh (installs Debian\'s prometheus package)';

/** What the test sends, and so what Prometheus must count. */
const SENT = { direct200: 4, fallback200: 3, upstream400: 2, unauthorized401: 1 } as const;

let stack: Stack;
let prometheus: ChildProcess | undefined;
let promUrl: string;
let dir: string;
let promLog = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` every 100 ms until it returns a value, or throws `what` after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}\nprometheus log:\n${promLog.slice(-2000)}`);
}

type Sample = { metric: Record<string, string>; value: [number, string] };
async function query(promql: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: Sample[] } };
  if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error}`);
  return body.data.result;
}
/** `{labelValue: number}` for a query aggregated by one label. */
async function byLabel(promql: string, label: string): Promise<Record<string, number>> {
  return Object.fromEntries((await query(promql)).map((s) => [s.metric[label] ?? '', Number(s.value[1])]));
}

beforeAll(async () => {
  if (!existsSync(PROMETHEUS) || spawnSync(PROMETHEUS, ['--version']).status !== 0) throw new Error(`prometheus not found at ${PROMETHEUS}: ${INSTALL_HINT}`);
  stack = await startStack({
    scenario: {
      rules: [
        { model: 'gpt-4o-mini', kind: 'outage' }, // every call 503: retries, then llama answers (alternative_model)
        { model: 'claude-3.5-sonnet', kind: 'status', status: 400 }, // a client error, surfaced, never retried
      ],
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'llmgw-prom-'));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(RULES)}]`,
      'scrape_configs:',
      '  - job_name: llm-gateway',
      '    scrape_interval: 1s',
      '    scrape_timeout: 900ms',
      `    static_configs: [{ targets: [${JSON.stringify(new URL(stack.url).host)}] }]`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prometheus.stdout!.on('data', (d) => (promLog += d));
  prometheus.stderr!.on('data', (d) => (promLog += d));
  const exited = new Promise<never>((_, reject) => prometheus!.once('exit', (code) => reject(new Error(`prometheus exited with ${code}:\n${promLog}`))));
  await Promise.race([until('prometheus /-/ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 15_000), exited]);

  // Traffic with faults.
  const send = async (n: number, body: unknown, key?: string | null) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await stack.chat(body, key === undefined ? {} : { key });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  };
  expect(await send(SENT.direct200, ask('plain', { model: 'gpt-4o' }))).toEqual(Array(SENT.direct200).fill(200));
  expect(await send(SENT.fallback200, ask('outage'))).toEqual(Array(SENT.fallback200).fill(200));
  expect(await send(SENT.upstream400, ask('bad', { model: 'claude-3.5-sonnet' }))).toEqual(Array(SENT.upstream400).fill(400));
  expect(await send(SENT.unauthorized401, ask('who'), 'sk-not-a-key')).toEqual(Array(SENT.unauthorized401).fill(401));
}, 40_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exit = new Promise((r) => prometheus!.once('exit', r));
    prometheus.kill('SIGTERM');
    await Promise.race([exit, new Promise((r) => setTimeout(r, 3000))]);
    if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
  }
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus scraping the service', () => {
  it('counts requests per status and model as sent', async () => {
    const total = SENT.direct200 + SENT.fallback200 + SENT.upstream400 + SENT.unauthorized401;
    // Wait (bounded) for a scrape that saw all the traffic.
    await until('a scrape with every request', async () => {
      const [s] = await query('sum(llm_requests_total)');
      return s && Number(s.value[1]) === total ? true : undefined;
    }, 10_000);
    expect(await byLabel('sum by (status) (llm_requests_total)', 'status')).toEqual({
      '200': SENT.direct200 + SENT.fallback200,
      '400': SENT.upstream400,
      '401': SENT.unauthorized401,
    });
    const perModel = await query('llm_requests_total{status=~"200|400"}');
    const count = (model: string, status: string) => Number(perModel.find((s) => s.metric.model === model && s.metric.status === status)?.value[1] ?? 0);
    expect(count('gpt-4o', '200')).toBe(SENT.direct200);
    // Requests are labelled by the model asked for (its SLO), even when a fallback answered.
    expect(count('gpt-4o-mini', '200')).toBe(SENT.fallback200);
    expect(count('llama-3.2-70b', '200')).toBe(0);
    expect(count('claude-3.5-sonnet', '400')).toBe(SENT.upstream400);
    // Every request was timed in the histogram.
    const [hist] = await query('sum(llm_request_duration_seconds_count)');
    expect(Number(hist!.value[1])).toBe(total);
  });

  it('counts fallbacks by strategy, and the failed upstream attempts behind them', async () => {
    expect(await byLabel('sum by (strategy) (llm_fallbacks_total)', 'strategy')).toEqual({ alternative_model: SENT.fallback200 });
    const attempts = await byLabel('sum by (outcome) (llm_upstream_attempts_total{model="gpt-4o-mini"})', 'outcome');
    // At least one 503 per fallback (more while the breaker was closed: retries).
    expect(attempts.http_5xx).toBeGreaterThanOrEqual(SENT.fallback200);
    expect(attempts.success ?? 0).toBe(0);
    const tokens = await byLabel('sum by (type) (llm_tokens_used_total)', 'type');
    expect(tokens.prompt).toBeGreaterThan(0);
    expect(tokens.completion).toBeGreaterThan(0);
  });

  it('loads the generated alert rules and evaluates them without errors', async () => {
    const groups = await until('rule evaluation', async () => {
      const res = await fetch(`${promUrl}/api/v1/rules`);
      const body = (await res.json()) as { data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }> } };
      const rules = body.data.groups.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((r) => !r.lastEvaluation.startsWith('0001')) ? body.data.groups : undefined;
    }, 10_000);
    expect(groups.map((g) => g.name).sort()).toEqual(['llm-gateway-resilience', 'llm-gateway-slo']);
    for (const rule of groups.flatMap((g) => g.rules)) expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({ rule: rule.name, health: 'ok', error: '' });
  });
});
