/**
 * The consumer under test: apps/consumer's `createAssistant` when it exists,
 * else the temporary stand-in (same interface). The chaos runner talks only
 * to this interface.
 */
import { existsSync } from 'node:fs';

export interface AssistantOptions {
  serviceUrl: string;
  apiKey: string;
  model?: string;
  /** Client-side retries, breaker and timeouts. Default true. */
  resilience?: boolean;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface AskOptions {
  signal?: AbortSignal;
  stream?: boolean;
}

export interface AskResult {
  answer: string;
  confidence: number;
  needs_human: boolean;
  source: 'model' | 'fallback' | 'degraded' | 'consumer-fallback';
  model: string;
  fallbackStrategy?: string;
  status?: number;
  error?: string;
}

export interface Assistant {
  ask(question: string, options?: AskOptions): Promise<AskResult>;
}

export type CreateAssistant = (options: AssistantOptions) => Assistant;

const REAL = new URL('../apps/consumer/src/assistant.ts', import.meta.url);

/** Loads the real consumer if it is there; says which one it got. */
export async function loadAssistant(): Promise<{ createAssistant: CreateAssistant; which: 'apps/consumer' | 'stand-in' }> {
  if (existsSync(REAL)) {
    const mod = (await import(REAL.href)) as { createAssistant: CreateAssistant };
    return { createAssistant: mod.createAssistant, which: 'apps/consumer' };
  }
  const { createStandInAssistant } = await import('./stand-in-assistant.ts');
  return { createAssistant: createStandInAssistant, which: 'stand-in' };
}
