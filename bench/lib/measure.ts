// The three measurements: throughput at N connections (autocannon), latency at
// one connection and streaming timings (own loops with hrtime, sub-ms).
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { cpuMs, threadCpuMs } from './proc-stats.ts';

export interface Target {
  name: string;
  url: string;
  /** The process whose CPU is charged to this target. */
  pid: number;
  headers: Record<string, string>;
}

export interface ThroughputResult {
  requests: number;
  seconds: number;
  rps: number;
  non2xx: number;
  errors: number;
  cpuMs: number;
  cpuMsPerRequest: number;
  /** Of the CPU of the target's living threads, what its threads other than the main one spent. */
  threadCpuMs: { main: number; other: number };
}

export async function throughput(target: Target, path: string, body: string, connections: number, seconds: number): Promise<ThroughputResult> {
  const cpuBefore = cpuMs(target.pid);
  const threadsBefore = threadCpuMs(target.pid);
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: target.url + path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuMs(target.pid) - cpuBefore;
  const threadsAfter = threadCpuMs(target.pid);
  // Every answered request cost the target CPU, whatever its status.
  const requests = result.requests.total;
  return {
    requests,
    seconds: wall,
    rps: requests / result.duration,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuMs: cpu,
    cpuMsPerRequest: requests > 0 ? cpu / requests : Number.NaN,
    threadCpuMs: { main: threadsAfter.main - threadsBefore.main, other: threadsAfter.other - threadsBefore.other },
  };
}

export interface LatencySamples {
  /** Milliseconds, one per successful request. */
  samples: number[];
  failures: number;
}

/** Sequential requests on one keep-alive connection for `seconds` (at most `maxRequests`). */
export async function latencyLoop(target: Target, path: string, body: string, seconds: number, maxRequests: number): Promise<LatencySamples> {
  const pool = new Pool(target.url, { connections: 1, pipelining: 1 });
  const headers = { 'content-type': 'application/json', ...target.headers };
  const samples: number[] = [];
  let failures = 0;
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  try {
    while (samples.length + failures < maxRequests && process.hrtime.bigint() < end) {
      const t0 = process.hrtime.bigint();
      const res = await pool.request({ path, method: 'POST', headers, body });
      await res.body.arrayBuffer();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (res.statusCode === 200) samples.push(ms);
      else failures++;
    }
  } finally {
    await pool.close();
  }
  return { samples, failures };
}

export interface StreamSamples {
  firstChunk: number[];
  done: number[];
  /** Streams that ended without `data: [DONE]` or with a non-200 status. */
  failures: number;
}

const DONE = 'data: [DONE]';

/** `count` streamed requests in sequence: time to the first body bytes and to `data: [DONE]`. */
export async function streamLoop(target: Target, path: string, body: string, count: number): Promise<StreamSamples> {
  const pool = new Pool(target.url, { connections: 1, pipelining: 1 });
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...target.headers };
  const out: StreamSamples = { firstChunk: [], done: [], failures: 0 };
  try {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      const res = await pool.request({ path, method: 'POST', headers, body });
      let first: number | undefined;
      let done: number | undefined;
      let tail = '';
      for await (const chunk of res.body) {
        const now = process.hrtime.bigint();
        first ??= Number(now - t0) / 1e6;
        // Only the tail matters: [DONE] may straddle two chunks.
        tail = (tail + (chunk as Buffer).toString('latin1')).slice(-64);
        if (done === undefined && tail.includes(DONE)) done = Number(now - t0) / 1e6;
      }
      if (res.statusCode !== 200 || first === undefined || done === undefined) {
        out.failures++;
        continue;
      }
      out.firstChunk.push(first);
      out.done.push(done);
    }
  } finally {
    await pool.close();
  }
  return out;
}

/** Nearest-rank percentile of unsorted samples (q in 0..1). */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}
