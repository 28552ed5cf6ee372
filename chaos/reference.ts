/**
 * What a complete answer looks like. The simulator's answers are a
 * deterministic function of model + conversation, so a clean simulator (no
 * faults) gives the full text the service should have streamed. A stream
 * the service continued on another model after a cut is complete when it is
 * "prefix of the first model's answer" + "the second model's continuation of
 * that prefix" (the prefill the service sends).
 */
import { startSimulator, type Simulator } from '@llmgw/simulator';

export interface Reference {
  /** True when `text` is a complete answer to `requestBody` from one of `models` (directly or continued). */
  isComplete(requestBody: string, text: string, models: readonly string[]): Promise<boolean>;
  close(): Promise<void>;
}

/** Most continuation split points tried per answer (word boundaries, longest first). */
const MAX_SPLITS = 40;

export async function startReference(): Promise<Reference> {
  const sim: Simulator = await startSimulator({ port: 0, host: '127.0.0.1' });
  const cache = new Map<string, Promise<string>>();

  function answer(body: Record<string, unknown>, model: string, prefill?: string): Promise<string> {
    const messages = [...(body.messages as unknown[])];
    if (prefill !== undefined) messages.push({ role: 'assistant', content: prefill });
    const request = { ...body, model, messages, stream: false };
    delete (request as Record<string, unknown>).stream_options;
    const json = JSON.stringify(request);
    let hit = cache.get(json);
    if (!hit) {
      hit = fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json })
        .then((r) => r.json() as Promise<{ choices: Array<{ message: { content: string } }> }>)
        .then((r) => r.choices[0]?.message.content ?? '');
      cache.set(json, hit);
    }
    return hit;
  }

  return {
    async isComplete(requestBody, text, models) {
      const body = JSON.parse(requestBody) as Record<string, unknown>;
      const tried = [...new Set([...models, String(body.model)])];
      for (const m of tried) if ((await answer(body, m)) === text) return true;
      // Continued elsewhere: split at word boundaries inside the common prefix with a model's answer.
      for (const first of tried) {
        const full = await answer(body, first);
        let common = 0;
        while (common < text.length && common < full.length && text[common] === full[common]) common++;
        const splits: number[] = [];
        for (let k = common; k > 0 && splits.length < MAX_SPLITS; k--) {
          if (k === common || /\s/.test(text[k] ?? '') || /\s/.test(text[k - 1] ?? '')) splits.push(k);
        }
        for (const k of splits) {
          const prefix = text.slice(0, k);
          for (const second of tried) {
            if (text.slice(k) === (await answer(body, second, prefix))) return true;
          }
        }
      }
      return false;
    },
    close: () => sim.close(),
  };
}
