/**
 * Server-Sent Events parser over a byte stream (the streaming hot path).
 *
 * Follows the WHATWG event-stream rules that matter for LLM providers:
 * lines end with LF, CRLF or CR (a CRLF split across two chunks counts once);
 * `data:` lines accumulate (joined with "\n"); `event:` names the event;
 * lines starting with ":" are comments (keep-alive pings) and are skipped;
 * an empty line dispatches the event. `id:` and `retry:` are ignored.
 *
 * Cheap per event: each chunk is decoded once, up to its last line end
 * (newline bytes never occur inside a UTF-8 multi-byte sequence, so the cut
 * is always safe), and scanned as a string; field values are slices of it.
 * A partial line is the only thing copied across chunks, as bytes. Parsed
 * events land in two parallel arrays that are reused between calls instead of
 * one object per event.
 *
 * Bounded: a line or an event's data longer than `maxEventBytes` throws
 * SseLimitError, so an upstream that never ends a line cannot take the memory.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/** Default longest line or event data: OpenAI and Anthropic events are a few hundred bytes. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

/** A line or an event's data went past the parser's limit. */
export class SseLimitError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`An SSE line or event is longer than ${limit} bytes`);
    this.name = 'SseLimitError';
    this.limit = limit;
  }
}

export interface SseParserOptions {
  /** Longest line, and longest data of one event, in bytes. Default DEFAULT_MAX_EVENT_BYTES. */
  maxEventBytes?: number;
}

export class SseParser {
  /** `data` of the events completed by the last `push` (valid until the next `push`). */
  readonly data: string[] = [];
  /** `event` field of the same events (undefined when the event had none). */
  readonly type: (string | undefined)[] = [];
  #rest: Buffer | undefined;
  #skipLf = false;
  #pendingData: string | undefined;
  #pendingType: string | undefined;
  #count = 0;
  readonly #max: number;

  constructor(options: SseParserOptions = {}) {
    this.#max = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /** Feed one chunk; returns how many events it completed (read them from `data`/`type`). */
  push(chunk: Uint8Array): number {
    this.#count = 0;
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#rest !== undefined) {
      buf = Buffer.concat([this.#rest, buf]);
      this.#rest = undefined;
    }
    // Everything up to the last line end is decoded at once and scanned as a string:
    // one native call per chunk instead of two or three per line (a provider sends one
    // event per token, usually one per chunk, ending in a line end: then the cut needs
    // no search). Newline bytes never occur inside a UTF-8 sequence, so the cut is safe;
    // the bytes after it (a partial line) wait for the next chunk.
    const last = buf.length > 0 ? buf[buf.length - 1] : undefined;
    const cut = last === LF || last === CR ? buf.length : Math.max(buf.lastIndexOf(LF), buf.lastIndexOf(CR)) + 1;
    if (cut < buf.length) {
      this.#rest = buf.subarray(cut);
      if (this.#rest.length > this.#max) throw new SseLimitError(this.#max);
    }
    if (cut === 0) return 0;
    const text = buf.toString('utf8', 0, cut);
    let start = 0;
    const len = text.length;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    // The next CR is looked up again only once it has been passed (most streams have none).
    let nextCr = text.indexOf('\r', start);
    while (start < len) {
      const nextLf = text.indexOf('\n', start);
      if (nextCr !== -1 && nextCr < start) nextCr = text.indexOf('\r', start);
      const isCr = nextCr !== -1 && (nextLf === -1 || nextCr < nextLf);
      let i = isCr ? nextCr : nextLf;
      this.#line(text, start, i);
      if (isCr) {
        if (i + 1 < len) {
          if (text.charCodeAt(i + 1) === LF) i++;
        } else if (this.#rest === undefined) {
          // A CR that ends the chunk: an LF at the start of the next one ends the same line.
          // (With bytes left over, the next byte is not a line end, or the cut would be after it.)
          this.#skipLf = true;
        }
      }
      start = i + 1;
    }
    return this.#count;
  }

  /**
   * Forget the events of the last `push` once they are read, so a parser that
   * outlives its chunk does not keep their strings alive.
   */
  clear(): void {
    this.data.fill('', 0, this.#count);
    this.type.fill(undefined, 0, this.#count);
    this.#count = 0;
  }

  /** End of input: an event not terminated by a blank line is discarded, as the spec says. */
  end(): void {
    this.#rest = undefined;
    this.#pendingData = undefined;
    this.#pendingType = undefined;
  }

  #line(text: string, start: number, end: number): void {
    if (start === end) {
      this.#dispatch();
      return;
    }
    if (text.charCodeAt(start) === COLON) return; // comment / keep-alive
    // Only `data` and `event` are read: the name must be followed by the colon or end the line.
    // (No search for the colon: in a line without one it would run on into the next lines.)
    if (this.#isField(text, start, end, 'data')) {
      const value = this.#value(text, start + 4, end);
      this.#pendingData = this.#pendingData === undefined ? value : `${this.#pendingData}\n${value}`;
      if (this.#pendingData.length > this.#max) throw new SseLimitError(this.#max);
    } else if (this.#isField(text, start, end, 'event')) {
      this.#pendingType = this.#value(text, start + 5, end);
    }
  }

  #isField(text: string, start: number, end: number, name: string): boolean {
    const after = start + name.length;
    return after <= end && text.startsWith(name, start) && (after === end || text.charCodeAt(after) === COLON);
  }

  /** The value after a field name ending at `nameEnd`: past the colon and one optional space. */
  #value(text: string, nameEnd: number, end: number): string {
    let valueStart = nameEnd < end ? nameEnd + 1 : end;
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart++;
    return text.slice(valueStart, end);
  }

  #dispatch(): void {
    const data = this.#pendingData;
    const type = this.#pendingType;
    this.#pendingType = undefined;
    if (data === undefined) return; // an event with no data is not dispatched
    this.#pendingData = undefined;
    const n = this.#count++;
    this.data[n] = data;
    this.type[n] = type;
  }
}
