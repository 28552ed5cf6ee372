/**
 * Records every model request the simulator receives, so tests can assert
 * "how many attempts reached which model, and how far apart".
 */
import type { FaultKind, WireFormat } from './scenario.ts';

/** Default cap: old records are dropped past this so long benchmarks stay bounded. */
export const DEFAULT_MAX_RECORDS = 100_000;

export type AttemptOutcome =
  | 'ok' // full response sent
  | 'error' // error status sent
  | 'reset' // socket destroyed before any header
  | 'cut' // socket destroyed mid-body
  | 'stalled' // went silent mid-body
  | 'hang' // never answered
  | 'client_closed'; // the client went away before we finished

export interface AttemptRecord {
  /** 1-based over all requests since the last clear. */
  readonly seq: number;
  readonly model: string;
  readonly format: WireFormat;
  readonly stream: boolean;
  /** Epoch ms with sub-ms precision (performance.timeOrigin + performance.now(), or the injected clock). */
  readonly receivedAt: number;
  /** 1-based attempt number for this model since the scenario (re)started; 0 when rejected before planning. */
  attempt: number;
  requestId: string;
  /** When the status line and headers were sent. */
  respondedAt?: number;
  /** When the exchange ended (body finished, socket destroyed, or client gone). */
  endedAt?: number;
  status?: number;
  fault?: FaultKind;
  /** Injected latency before headers, when a latency rule fired. */
  latencyMs?: number;
  outcome?: AttemptOutcome;
  readonly traceparent?: string;
  /** An Authorization or x-api-key header was present. */
  readonly authorization: boolean;
  readonly lastMessageRole?: string;
  readonly messages: number;
}

export class Recorder {
  readonly #max: number;
  #records: AttemptRecord[] = [];
  #seq = 0;

  constructor(maxRecords = DEFAULT_MAX_RECORDS) {
    this.#max = maxRecords;
  }

  /** Next sequence number (used when creating a record). */
  nextSeq(): number {
    return ++this.#seq;
  }

  add(record: AttemptRecord): void {
    this.#records.push(record);
    // Drop the older half at once: amortised O(1) instead of shift() per request.
    if (this.#records.length > this.#max) this.#records = this.#records.slice(this.#records.length - Math.floor(this.#max / 2));
  }

  /** All records, oldest first. */
  all(): readonly AttemptRecord[] {
    return this.#records;
  }

  /** Records for one model (all models when omitted), oldest first. */
  attempts(model?: string): AttemptRecord[] {
    return model === undefined ? [...this.#records] : this.#records.filter((r) => r.model === model);
  }

  /** Milliseconds between consecutive attempts' receivedAt (for one model or all). */
  spacing(model?: string): number[] {
    const list = this.attempts(model);
    const gaps: number[] = [];
    for (let i = 1; i < list.length; i++) gaps.push(list[i]!.receivedAt - list[i - 1]!.receivedAt);
    return gaps;
  }

  clear(): void {
    this.#records = [];
    this.#seq = 0;
  }
}
