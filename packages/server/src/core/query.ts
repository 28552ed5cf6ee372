// Query values arrive as text. The generated stubs turn each into the JSON type its schema names
// before the compiled validator runs, so `?limit=20` validates as the integer 20. Text that is not a
// number (or boolean) is passed on unchanged: the validator then answers `limit: must be integer`,
// the same 400 as any other bad parameter, naming it.

/** A decimal number as JSON writes it (leading zeros allowed); never '', spaces, hex, `Infinity`. */
const NUMBER_TEXT = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** `'20'` -> 20; anything else (absent, `'abc'`, `''`) unchanged. */
export function queryNumber(text: string | undefined): unknown {
  return text !== undefined && NUMBER_TEXT.test(text) ? Number(text) : text;
}

/** `'true'` / `'false'` -> the booleans (JSON spelling only); anything else unchanged. */
export function queryBoolean(text: string | undefined): unknown {
  return text === 'true' ? true : text === 'false' ? false : text;
}

/** Each value of a repeated key (`?id=1&id=2`) as by {@link queryNumber}. */
export function queryNumbers(texts: readonly string[] | undefined): unknown[] | undefined {
  return texts?.map(queryNumber);
}

/** Each value of a repeated key as by {@link queryBoolean}. */
export function queryBooleans(texts: readonly string[] | undefined): unknown[] | undefined {
  return texts?.map(queryBoolean);
}
