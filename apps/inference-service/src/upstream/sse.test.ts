import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SseLimitError, SseParser } from './sse.ts';

function parseAll(chunks: (string | Uint8Array)[]): Array<{ data: string; type: string | undefined }> {
  const parser = new SseParser();
  const out: Array<{ data: string; type: string | undefined }> = [];
  for (const c of chunks) {
    const n = parser.push(typeof c === 'string' ? Buffer.from(c) : c);
    for (let i = 0; i < n; i++) out.push({ data: parser.data[i]!, type: parser.type[i] });
  }
  return out;
}

describe('SseParser', () => {
  it('refuses a line, or an event of many data lines, longer than its limit', () => {
    const line = new SseParser({ maxEventBytes: 1000 });
    expect(line.push(Buffer.from(`data: ${'a'.repeat(900)}`))).toBe(0);
    expect(() => line.push(Buffer.from('a'.repeat(200)))).toThrow(SseLimitError);
    const event = new SseParser({ maxEventBytes: 1000 });
    for (let i = 0; i < 9; i++) event.push(Buffer.from(`data: ${'b'.repeat(100)}\n`));
    expect(() => event.push(Buffer.from(`data: ${'b'.repeat(100)}\n`))).toThrow(SseLimitError);
    // At the limit is fine: a 1000-byte line and its event.
    const edge = new SseParser({ maxEventBytes: 1000 });
    expect(edge.push(Buffer.from(`data: ${'c'.repeat(994)}\n\n`))).toBe(1);
    expect(edge.data[0]).toHaveLength(994);
  });

  it('parses data lines, event names, comments and multi-line data', () => {
    const text = ': keep-alive\n\nevent: message_start\ndata: {"a":1}\n\ndata: line1\ndata: line2\n\ndata:nospace\n\n';
    expect(parseAll([text])).toEqual([
      { data: '{"a":1}', type: 'message_start' },
      { data: 'line1\nline2', type: undefined },
      { data: 'nospace', type: undefined },
    ]);
  });

  it('handles CRLF and lone CR line ends, including CRLF split across chunks', () => {
    expect(parseAll(['data: a\r\n\r\ndata: b\r', '\n\r', '\ndata: c\r\r'])).toEqual([
      { data: 'a', type: undefined },
      { data: 'b', type: undefined },
      { data: 'c', type: undefined },
    ]);
  });

  it('does not dispatch an event without data, nor an unterminated one', () => {
    expect(parseAll(['event: ping\n\nid: 3\n\ndata: tail'])).toEqual([]);
  });

  it('decodes UTF-8 split across chunks', () => {
    const bytes = Buffer.from('data: xin chào 🌏\n\n');
    const cut = bytes.indexOf(0xf0) + 2; // inside the 4-byte emoji
    expect(parseAll([bytes.subarray(0, cut), new Uint8Array(bytes.subarray(cut))])).toEqual([{ data: 'xin chào 🌏', type: undefined }]);
  });

  it('gives the same events however the bytes are chunked (property)', () => {
    const event = fc.record({
      type: fc.option(fc.constantFrom('delta', 'message_stop'), { nil: undefined }),
      lines: fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !/[\r\n]/.test(s)), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 5 }), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(), { maxLength: 8 }), (events, eol, cuts) => {
        let text = '';
        for (const e of events) {
          if (e.type) text += `event: ${e.type}${eol}`;
          for (const l of e.lines) text += `data: ${l}${eol}`;
          text += eol;
        }
        const bytes = Buffer.from(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        chunks.push(bytes.subarray(prev));
        // A leading space in a value is eaten by the "data: " prefix rule only once.
        const want = events.map((e) => ({ data: e.lines.join('\n'), type: e.type }));
        expect(parseAll(chunks)).toEqual(want);
      }),
    );
  });
});
