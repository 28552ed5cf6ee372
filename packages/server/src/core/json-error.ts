/**
 * Finds where a JSON text stops being valid, for the 400 message. Runs only after JSON.parse has
 * failed (never on the hot path). V8's own messages quote the body, which may hold prompt text,
 * so the message is rebuilt from the offset alone.
 */
/** Deepest nesting the error scanner follows (a valid body that deep is parsed by JSON.parse, not here). */
const MAX_SCAN_DEPTH = 1000;

export function jsonSyntaxErrorOffset(text: string): { offset: number; atEnd: boolean; tooDeep?: boolean } {
  let i = 0;
  let depth = 0;
  let tooDeep = false;
  const n = text.length;
  const fail = (): never => {
    throw i;
  };
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const literal = (word: string): void => {
    // A broken literal is reported at its first character (`nope` at the `n`).
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = (): void => {
    i++; // opening quote
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) return void i++;
      if (ch < 0x20) fail();
      if (ch === 0x5c) {
        i++;
        const esc = text[i];
        if (esc === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) ((i += k), fail());
          i += 5;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i++;
        else fail();
      } else i++;
    }
    fail();
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (match === null || match[0] === '' || match[0] === '-') fail();
    i += (match as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    // The scanner recurses per level: bound it well below the stack's limit.
    if ((ch === '{' || ch === '[') && ++depth > MAX_SCAN_DEPTH) {
      tooDeep = true;
      fail();
    }
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void (i++, depth--);
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void (i++, depth--);
        else fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void (i++, depth--);
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void (i++, depth--);
        else fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else number();
  };
  try {
    value();
    ws();
    if (i < n) fail();
  } catch (offset) {
    if (typeof offset !== 'number') throw offset;
    return tooDeep ? { offset: Math.min(offset, n), atEnd: false, tooDeep } : { offset: Math.min(offset, n), atEnd: offset >= n };
  }
  return { offset: n, atEnd: true };
}

/** `Malformed JSON body: unexpected character at line 1, column 11 (offset 10).` */
export function describeJsonSyntaxError(text: string): string {
  if (text.trim() === '') return 'The request body is empty; expected a JSON document.';
  const { offset, atEnd, tooDeep } = jsonSyntaxErrorOffset(text);
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset; k++) if (text.charCodeAt(k) === 10) ((line += 1), (lineStart = k + 1));
  const where = `line ${line}, column ${offset - lineStart + 1} (offset ${offset})`;
  if (tooDeep) return `Malformed JSON body: nested more than ${MAX_SCAN_DEPTH} levels deep at ${where}.`;
  return atEnd ? `Malformed JSON body: unexpected end of input at ${where}.` : `Malformed JSON body: unexpected character at ${where}.`;
}
