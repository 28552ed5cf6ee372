/**
 * Turns samples into verdicts and numbers. A request is
 * - valid: the consumer says 'model' or 'fallback' (a real model answered)
 *   and the answer holds up: a structured answer has the right fields and
 *   types; a streamed answer is what the service sent, the service's stream
 *   ended with [DONE] and no error event, and its text is a complete answer
 *   (checked against the simulator's deterministic text);
 * - degraded: the consumer says so ('degraded' or 'consumer-fallback');
 * - failed: anything else (a throw, a deadline, a bad structured answer, a
 *   truncated stream passed off as complete).
 */
import { estimateTokens } from '@llmgw/simulator';
import { summariseStream } from './capture.ts';
import type { Sample } from './load.ts';
import type { Reference } from './reference.ts';
import { PRIMARY } from './scenarios.ts';

export type Verdict = 'valid' | 'degraded' | 'failed';

export interface Judged {
  sample: Sample;
  verdict: Verdict;
  reason?: string;
  /** A streamed answer reported complete that is not. */
  truncatedAsComplete: boolean;
  tokens: number;
  budgetExceeded: boolean;
  byPrimary: boolean;
}

const BODY_WAIT_MS = 2000;

export async function judge(sample: Sample, reference: Reference): Promise<Judged> {
  const bodies = await Promise.all(sample.capture.exchanges.map((e) => withTimeout(e.body, BODY_WAIT_MS, '')));
  let tokens = 0;
  let budgetExceeded = false;
  let lastStream: { body: string; request: string | undefined } | undefined;
  sample.capture.exchanges.forEach((e, i) => {
    const body = bodies[i] ?? '';
    if (e.status === 429 && body.includes('token_budget_exceeded')) budgetExceeded = true;
    if (e.status !== 200) return;
    if (isSse(body)) {
      const s = summariseStream(body);
      tokens += s.usage?.total_tokens ?? estimateTokens(s.text) + promptEstimate(e.requestBody);
      lastStream = { body, request: e.requestBody };
    } else {
      try {
        tokens += (JSON.parse(body) as { usage?: { total_tokens?: number } }).usage?.total_tokens ?? 0;
      } catch {
        /* not JSON: no usage to count */
      }
    }
  });
  const r = sample.result;
  const base = { sample, tokens, budgetExceeded, truncatedAsComplete: false, byPrimary: r?.source === 'model' && r.model === PRIMARY };
  if (!r) return { ...base, verdict: 'failed', reason: `threw: ${sample.thrown}` };
  if (r.source === 'degraded' || r.source === 'consumer-fallback') return { ...base, verdict: 'degraded', reason: r.error ?? r.fallbackStrategy };
  if (r.source !== 'model' && r.source !== 'fallback') return { ...base, verdict: 'failed', reason: `unknown source ${String(r.source)}` };
  if (!sample.stream) {
    const ok =
      typeof r.answer === 'string' && r.answer.length > 0 && typeof r.confidence === 'number' && r.confidence >= 0 && r.confidence <= 1 && typeof r.needs_human === 'boolean';
    return ok ? { ...base, verdict: 'valid' } : { ...base, verdict: 'failed', reason: 'structured answer invalid' };
  }
  if (!lastStream) return { ...base, verdict: 'failed', reason: 'reported complete, no stream seen' };
  const s = summariseStream(lastStream.body);
  const cut = (reason: string): Judged => ({ ...base, verdict: 'failed', reason, truncatedAsComplete: true });
  if (s.errorEvent) return cut('reported complete after an in-band error event');
  if (!s.done) return cut('reported complete, stream had no [DONE]');
  if (s.finishReason !== 'stop' && s.finishReason !== 'length') return cut(`reported complete, finish_reason ${s.finishReason}`);
  if (lastStream.request && !(await reference.isComplete(lastStream.request, s.text, s.models))) {
    return cut('[DONE] sent but the text is not a complete answer');
  }
  if (typeof r.answer === 'string' && r.answer.trim() !== s.text.trim() && !r.answer.includes(s.text.trim())) {
    return { ...base, verdict: 'failed', reason: "consumer's answer differs from the streamed text" };
  }
  return { ...base, verdict: 'valid' };
}

function isSse(body: string): boolean {
  return body.startsWith('data:') || body.startsWith('event:') || body.startsWith(':') || body.includes('\ndata:');
}

function promptEstimate(requestBody: string | undefined): number {
  if (!requestBody) return 0;
  try {
    const messages = (JSON.parse(requestBody) as { messages?: Array<{ content?: unknown }> }).messages ?? [];
    return messages.reduce((n, m) => n + estimateTokens(typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')), 0);
  } catch {
    return 0;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

export interface ModeStats {
  requests: number;
  valid: number;
  degraded: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  upstreamAttempts: number;
  attemptsPerRequest: number;
  primaryAttemptsPerRequest: number;
  tokens: number;
  tokensPerRequest: number;
  truncatedAsComplete: number;
  sources: Record<string, number>;
  fallbackStrategies: Record<string, number>;
  failureReasons: Record<string, number>;
  degradedReasons: Record<string, number>;
  attemptOutcomes: Record<string, number>;
  /** recovery scenario: share of answers from the primary model in the tail, and when traffic first returned. */
  primaryShareTail?: number;
  primaryBackAfterMs?: number;
  /** runaway scenario: what the looping key got. */
  runaway?: { requests: number; budgetExceeded: number; tokens: number; firstCutOffMs?: number; valid: number };
}

export interface AttemptLike {
  model: string;
  outcome?: string;
  status?: number;
}

export function summarise(judged: Judged[], attempts: readonly AttemptLike[], extra: { tailFromMs?: number; outageMs?: number } = {}): ModeStats {
  const main = judged.filter((j) => j.sample.caller === 'a');
  const n = main.length;
  const count = (v: Verdict) => main.filter((j) => j.verdict === v).length;
  const lat = main.map((j) => j.sample.latencyMs).sort((a, b) => a - b);
  const all = judged.length;
  const stats: ModeStats = {
    requests: n,
    valid: share(count('valid'), n),
    degraded: share(count('degraded'), n),
    failed: share(count('failed'), n),
    p50Ms: round(quantile(lat, 0.5)),
    p99Ms: round(quantile(lat, 0.99)),
    maxMs: round(lat.at(-1) ?? 0),
    upstreamAttempts: attempts.length,
    attemptsPerRequest: round(all ? attempts.length / all : 0, 3),
    primaryAttemptsPerRequest: round(all ? attempts.filter((a) => a.model === PRIMARY).length / all : 0, 3),
    tokens: main.reduce((s, j) => s + j.tokens, 0),
    tokensPerRequest: round(n ? main.reduce((s, j) => s + j.tokens, 0) / n : 0, 1),
    truncatedAsComplete: judged.filter((j) => j.truncatedAsComplete).length,
    sources: histogram(main.map((j) => (j.sample.result ? `${j.sample.result.source}${j.sample.result.source === 'model' || j.sample.result.source === 'fallback' ? `:${j.sample.result.model}` : ''}` : 'threw'))),
    fallbackStrategies: histogram(main.flatMap((j) => (j.sample.result?.fallbackStrategy ? [j.sample.result.fallbackStrategy] : []))),
    failureReasons: histogram(main.filter((j) => j.verdict === 'failed').map((j) => j.reason ?? 'unknown')),
    degradedReasons: histogram(main.filter((j) => j.verdict === 'degraded').map((j) => `${j.sample.result?.source}:${j.reason ?? '-'}`)),
    attemptOutcomes: histogram(attempts.map((a) => `${a.model}:${a.outcome ?? 'open'}${a.status && a.status !== 200 ? `:${a.status}` : ''}`)),
  };
  if (extra.tailFromMs !== undefined) {
    const tail = main.filter((j) => j.sample.startMs >= extra.tailFromMs!);
    stats.primaryShareTail = share(tail.filter((j) => j.byPrimary).length, tail.length);
    const back = main.filter((j) => j.byPrimary && j.sample.startMs >= (extra.outageMs ?? 0)).map((j) => j.sample.startMs + j.sample.latencyMs);
    if (back.length) stats.primaryBackAfterMs = round(Math.min(...back) - (extra.outageMs ?? 0));
  }
  const b = judged.filter((j) => j.sample.caller === 'b');
  if (b.length) {
    const cut = b.filter((j) => j.budgetExceeded).map((j) => j.sample.startMs);
    stats.runaway = {
      requests: b.length,
      budgetExceeded: b.filter((j) => j.budgetExceeded).length,
      tokens: b.reduce((s, j) => s + j.tokens, 0),
      valid: b.filter((j) => j.verdict === 'valid').length,
      ...(cut.length ? { firstCutOffMs: round(Math.min(...cut)) } : {}),
    };
  }
  return stats;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const share = (k: number, n: number) => (n ? round(k / n, 4) : 0);
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function histogram(keys: string[]): Record<string, number> {
  const h: Record<string, number> = {};
  for (const k of keys) h[k] = (h[k] ?? 0) + 1;
  return Object.fromEntries(Object.entries(h).sort((a, b) => b[1] - a[1]));
}
