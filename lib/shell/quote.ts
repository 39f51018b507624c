// POSIX shell quoting: the one way den puts a value into a shell command or a sourced file.
// Single quotes keep everything literal (`$`, backquotes, newlines, unicode); a single quote inside
// ends the quoted run, adds an escaped quote, and starts a new run.

/** `it's` → `'it'\''s'`; safe words (letters, digits, `-_./=:@%+,`) stay bare so commands stay readable. */
export function shellQuote(value: string): string {
  if (value !== "" && /^[A-Za-z0-9_\-./=:@%+,]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quotes every word and joins them with spaces. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}
