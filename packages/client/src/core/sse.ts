// Minimal WHATWG Server-Sent Events decoder: fields `data` and `event`; comments and
// `id`/`retry` are ignored (the contract uses neither). Handles \n, \r\n and \r line ends
// and events split across network chunks.

export interface SseEvent {
  event: string | undefined;
  data: string;
}

export interface SseOptions {
  /** Rejects a pending read with the signal's reason when it aborts (a stalled body would never settle). */
  signal?: AbortSignal | undefined;
  /** Longest wait for one read in ms, 0 = none (the default); beyond it the decoder throws {@link SseIdleTimeoutError}. */
  idleTimeoutMs?: number | undefined;
}

/** No bytes arrived within `idleTimeoutMs`; the body has been cancelled. */
export class SseIdleTimeoutError extends Error {
  readonly idleTimeoutMs: number;

  constructor(idleTimeoutMs: number) {
    super(`No data for ${idleTimeoutMs} ms.`);
    this.name = 'SseIdleTimeoutError';
    this.idleTimeoutMs = idleTimeoutMs;
  }
}

export async function* decodeSse(body: ReadableStream<Uint8Array>, options: SseOptions = {}): AsyncGenerator<SseEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event: string | undefined;
  // The previous read ended on \r: a \n starting the next one is the rest of that \r\n.
  let skipLf = false;
  let reading = false;
  try {
    for (;;) {
      reading = true;
      const { value, done } = await read(reader, options);
      reading = false;
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      if (skipLf && buffer !== '') {
        if (buffer.startsWith('\n')) start = 1;
        skipLf = false;
      }
      for (;;) {
        const lf = buffer.indexOf('\n', start);
        const cr = buffer.indexOf('\r', start);
        const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        if (end === -1) break;
        // A lone \r at the end of the buffer ends the line now (waiting could stall the event); a \n next is skipped.
        if (end === cr && end === buffer.length - 1) skipLf = true;
        const line = buffer.slice(start, end);
        start = end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1);
        if (line === '') {
          if (data.length > 0) yield { event, data: data.join('\n') };
          data = [];
          event = undefined;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
      }
      buffer = buffer.slice(start);
    }
    buffer += decoder.decode();
    // A last event not closed by a blank line is still dispatched (servers often omit it after [DONE]).
    if (buffer !== '' && buffer.startsWith('data:')) data.push(buffer.slice(5).replace(/^ /, ''));
    if (data.length > 0) yield { event, data: data.join('\n') };
  } finally {
    // A read given up on (abort, idle timeout) is still pending: cancelling settles it so the lock can be released.
    if (reading) reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** One `reader.read()` bounded by the idle timeout and the signal (setTimeout, so fake timers drive it). */
function read(reader: ReadableStreamDefaultReader<Uint8Array>, { signal, idleTimeoutMs = 0 }: SseOptions): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (!signal && idleTimeoutMs <= 0) return reader.read();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal!.reason);
    const timer = idleTimeoutMs > 0 ? setTimeout(() => reject(new SseIdleTimeoutError(idleTimeoutMs)), idleTimeoutMs) : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    reader
      .read()
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
  });
}
