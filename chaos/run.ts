/**
 * `npm run chaos` / `npm run chaos:smoke`: the consumer -> inference service
 * -> simulator chain under each fault scenario, resilience ON and OFF, in one
 * run. Prints a table and the targets, writes chaos/results/latest.json.
 *
 * Flags: --smoke (≈1 s per scenario and mode, targets printed, not enforced),
 * --only a,b (scenario names), --out <file>, --concurrency N, --duration MS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createAssistant, type CreateAssistant } from './assistant.ts';
import { capturingFetch } from './capture.ts';
import { judge, summarise, type ModeStats } from './evaluate.ts';
import { runLoad, sleep, type Sample } from './load.ts';
import { startReference, type Reference } from './reference.ts';
import { DEFAULT_DURATION_MS, SCENARIOS, SMOKE_MS, simulatorScenario, type ChaosScenario } from './scenarios.ts';
import { FIRST_TOKEN_MS, HALF_OPEN_AFTER_MS, KEY_A, KEY_B, SLA_TOTAL_MS, STREAM_IDLE_MS, startChain, type Mode } from './stack.ts';
import { evaluateTargets, type TargetResult } from './targets.ts';
import { printReport } from './report.ts';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    duration: { type: 'string' },
  },
});
const smoke = values.smoke!;
const concurrency = Number(values.concurrency);
const only = values.only?.split(',').map((s) => s.trim());
const scenarios = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
if (only && scenarios.length !== only.length) {
  console.error(`unknown scenario in --only; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
/** Hard bound on one ask: the SLA plus the consumer's own retries and grace, then some. */
const ASK_DEADLINE_MS = 15_000;
/** Whole-run watchdog: the run stops by itself even if something hangs. */
const WATCHDOG_MS = smoke ? 120_000 : 420_000;

export interface ScenarioResult {
  name: string;
  what: string;
  request: string;
  durationMs: number;
  on: ModeStats;
  off: ModeStats;
  targets: TargetResult[];
}

async function runMode(s: ChaosScenario, mode: Mode, createAssistant: CreateAssistant, reference: Reference): Promise<ModeStats> {
  const durationMs = smoke ? (s.recovery ? SMOKE_MS * 2 : SMOKE_MS) : Number(values.duration ?? s.durationMs ?? DEFAULT_DURATION_MS);
  const outageMs = s.recovery ? (smoke ? s.recovery.smokeOutageMs : s.recovery.outageMs) : undefined;
  const chain = await startChain(mode, simulatorScenario(s), s.runaway, s.fallbackJsonSchema ?? true);
  try {
    const fetch = capturingFetch();
    const resilience = mode === 'on';
    const assistant = createAssistant({ serviceUrl: chain.url, apiKey: KEY_A, resilience, fetch });
    // Restart the scenario clock (outage windows) and the records right at the load's start.
    chain.sim.setScenario(simulatorScenario(s, outageMs));
    chain.sim.recorder.clear();
    const origin = performance.now();
    const loads: Array<Promise<Sample[]>> = [];
    if (s.runaway) {
      // Key A: two steady askers. Key B: paced at its baseline, then looping.
      loads.push(runLoad({ assistant, concurrency: 2, durationMs, stream: false, askDeadlineMs: ASK_DEADLINE_MS, origin, pauseMs: 100 }));
      const bot = createAssistant({ serviceUrl: chain.url, apiKey: KEY_B, resilience, fetch });
      const baselineMs = Math.round(durationMs * 0.4);
      loads.push(runLoad({ assistant: bot, concurrency: 1, durationMs: baselineMs, stream: false, askDeadlineMs: ASK_DEADLINE_MS, origin, caller: 'b', pauseMs: 200 }));
      loads.push(runLoad({ assistant: bot, concurrency, durationMs: durationMs - baselineMs, stream: false, askDeadlineMs: ASK_DEADLINE_MS, origin, caller: 'b', startAtMs: baselineMs }));
    } else {
      loads.push(runLoad({ assistant, concurrency, durationMs, stream: s.request === 'stream', askDeadlineMs: ASK_DEADLINE_MS, origin }));
    }
    const samples = (await Promise.all(loads)).flat();
    const judged = await Promise.all(samples.map((x) => judge(x, reference)));
    const attempts = chain.sim.recorder.attempts();
    const tailMs = smoke ? durationMs / 4 : (s.recovery?.tailMs ?? 0);
    return summarise(judged, attempts, s.recovery ? { tailFromMs: durationMs - tailMs, outageMs } : {});
  } finally {
    await chain.close();
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`chaos: watchdog fired after ${WATCHDOG_MS} ms; stopping`);
    process.exit(3);
  }, WATCHDOG_MS);
  watchdog.unref();
  const started = performance.now();
  console.log(`chaos: ${smoke ? 'smoke' : 'full'} run, ${scenarios.length} scenarios x 2 modes, concurrency ${concurrency}, consumer: apps/consumer, node ${process.version}`);
  const reference = await startReference();
  const results: ScenarioResult[] = [];
  try {
    for (const s of scenarios) {
      const on = await runMode(s, 'on', createAssistant, reference);
      const off = await runMode(s, 'off', createAssistant, reference);
      const partial = { name: s.name, what: s.what, request: s.request, durationMs: smoke ? SMOKE_MS : (s.durationMs ?? DEFAULT_DURATION_MS), on, off };
      const result = { ...partial, targets: evaluateTargets(s, partial) };
      results.push(result);
      console.log(
        `  ${s.name.padEnd(24)} on: valid ${pct(on.valid)} degraded ${pct(on.degraded)} failed ${pct(on.failed)} p99 ${on.p99Ms} ms ` +
          `att/req ${on.attemptsPerRequest} | off: valid ${pct(off.valid)} failed ${pct(off.failed)}` +
          (result.targets.length ? `  [${result.targets.map((t) => `${t.pass ? 'PASS' : 'FAIL'} ${t.name}`).join('; ')}]` : ''),
      );
      await sleep(50);
    }
  } finally {
    await reference.close();
  }
  const elapsedMs = Math.round(performance.now() - started);
  const allTargets = results.flatMap((r) => r.targets.map((t) => ({ scenario: r.name, ...t })));
  const passed = allTargets.every((t) => t.pass);
  const report = {
    kind: smoke ? 'smoke' : 'full',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    consumer: 'apps/consumer (createAssistant)',
    elapsedMs,
    settings: { concurrency, askDeadlineMs: ASK_DEADLINE_MS, slaTotalMs: SLA_TOTAL_MS, firstTokenMs: FIRST_TOKEN_MS, streamIdleMs: STREAM_IDLE_MS, halfOpenAfterMs: HALF_OPEN_AFTER_MS },
    passed,
    targets: allTargets,
    scenarios: results,
  };
  printReport(report, smoke);
  const out = values.out ?? new URL('./results/latest.json', import.meta.url).pathname;
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${out} (${(elapsedMs / 1000).toFixed(1)} s)`);
  clearTimeout(watchdog);
  process.exitCode = !smoke && !passed ? 1 : 0;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6);

await main();
