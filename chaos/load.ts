/**
 * Closed-loop load: N workers, each asking the consumer one question after
 * another until the deadline. Every ask runs inside a capture so the runner
 * sees what the service really sent; the latency is the consumer's (what a
 * user waits).
 */
import type { Assistant, AskResult } from './assistant.ts';
import { withCapture, type AskCapture } from './capture.ts';

export interface Sample {
  /** Start offset from the load phase's start (ms). */
  startMs: number;
  latencyMs: number;
  stream: boolean;
  question: string;
  result?: AskResult;
  /** The consumer threw or our hard deadline fired (it promises never to throw). */
  thrown?: string;
  capture: AskCapture;
  /** Which caller (key) asked: 'a' normally, 'b' for the runaway key. */
  caller: 'a' | 'b';
}

const QUESTIONS = [
  'How do I reset my password?',
  'Where can I download my invoice?',
  'Can I change the delivery address after ordering?',
  'My order arrived damaged, what now?',
  'How long does a refund take?',
  'Do you ship to Da Nang?',
  'How do I close my account?',
  'Why was my card declined?',
  'Can I pause my subscription?',
  'How do I contact support by phone?',
  'Is there a student discount?',
  'What is the price of the premium plan?',
];

export interface LoadOptions {
  assistant: Assistant;
  concurrency: number;
  durationMs: number;
  stream: boolean;
  caller?: 'a' | 'b';
  /** Hard bound on one ask, so a scenario always ends. */
  askDeadlineMs: number;
  /** Pause between a worker's requests (pacing); default 0. */
  pauseMs?: number;
  /** Load phase start (performance.now()) that offsets are measured from. */
  origin: number;
  /** Start after this offset from origin (ms). */
  startAtMs?: number;
}

export async function runLoad(o: LoadOptions): Promise<Sample[]> {
  const samples: Sample[] = [];
  const end = o.origin + (o.startAtMs ?? 0) + o.durationMs;
  let n = 0;
  if (o.startAtMs) await sleep(o.origin + o.startAtMs - performance.now());
  async function worker(): Promise<void> {
    while (performance.now() < end) {
      const question = QUESTIONS[n++ % QUESTIONS.length]!;
      const t0 = performance.now();
      const signal = AbortSignal.timeout(o.askDeadlineMs);
      const { capture, result } = withCapture(() => o.assistant.ask(question, { stream: o.stream, signal }));
      const sample: Sample = { startMs: t0 - o.origin, latencyMs: 0, stream: o.stream, question, capture, caller: o.caller ?? 'a' };
      try {
        sample.result = await result;
      } catch (error) {
        sample.thrown = (error as Error)?.message ?? String(error);
      }
      sample.latencyMs = performance.now() - t0;
      samples.push(sample);
      if (o.pauseMs) await sleep(o.pauseMs);
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return samples;
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
