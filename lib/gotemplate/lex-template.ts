// Lexing: the template text splits into text runs and actions, and each action into tokens. Trim
// markers (`{{- ` and ` -}}`) are applied here, and comments vanish here, as in Go's lexer.
import { TemplateFailure } from "./template-failure.ts";

/** `spaced`: white space (or the start of the action) comes before the token, which separates arguments. */
export type Token =
  | { t: "field"; name: string; pos: number; spaced: boolean }
  | { t: "dot"; pos: number; spaced: boolean }
  | { t: "var"; name: string; pos: number; spaced: boolean }
  | { t: "ident"; name: string; pos: number; spaced: boolean }
  | { t: "string"; value: string; pos: number; spaced: boolean }
  | { t: "number"; value: number; pos: number; spaced: boolean }
  | { t: "bool"; value: boolean; pos: number; spaced: boolean }
  | { t: "nil"; pos: number; spaced: boolean }
  | { t: SymbolToken; pos: number; spaced: boolean };

type SymbolToken = "pipe" | "lparen" | "rparen" | "declare" | "assign" | "comma";

/** A text run (already trimmed) or an action's tokens; `pos` is the offset of the text or of `{{`. */
export type Item = { kind: "text"; text: string; pos: number } | { kind: "action"; tokens: Token[]; pos: number; end: number };

/** How each symbol token is written, for the lexer and for messages. */
export const SymbolText: Record<SymbolToken, string> = { pipe: "|", lparen: "(", rparen: ")", declare: ":=", assign: "=", comma: "," };

const Symbols: [string, SymbolToken][] = Object.entries(SymbolText).map(([t, text]) => [text, t as SymbolToken]);
const IdentStart = /[\p{L}_]/u;
const IdentChar = /[\p{L}\p{N}_]/u;
const NumberPattern = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;
const SimpleEscapes: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };

/** Go's trim markers count only these four as white space. */
function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && " \t\r\n".includes(ch);
}

/** Splits a template into text runs and tokenized actions. */
export function lexTemplate(text: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < text.length) {
    const open = text.indexOf("{{", pos);
    let chunk = open === -1 ? text.slice(pos) : text.slice(pos, open);
    const chunkPos = pos;
    if (trimNext) chunk = chunk.replace(/^[ \t\r\n]+/, "");
    trimNext = false;
    if (open === -1) {
      if (chunk !== "") items.push({ kind: "text", text: chunk, pos: chunkPos });
      break;
    }
    let inner = open + 2;
    // `{{-` trims only when a space follows: `{{-3}}` is the number -3.
    if (text[inner] === "-" && isSpace(text[inner + 1])) {
      chunk = chunk.replace(/[ \t\r\n]+$/, "");
      inner += 2;
    }
    if (chunk !== "") items.push({ kind: "text", text: chunk, pos: chunkPos });
    const action = lexAction(text, inner, open);
    if (action.tokens !== undefined) items.push({ kind: "action", tokens: action.tokens, pos: open, end: action.end });
    trimNext = action.trimRight;
    pos = action.end;
  }
  return items;
}

/** The closing delimiter at `at`, with or without a right trim marker (white space, `-`, `}}`). */
function closeAt(text: string, at: number): { end: number; trimRight: boolean } | undefined {
  if (isSpace(text[at]) && text[at + 1] === "-" && text.startsWith("}}", at + 2)) return { end: at + 4, trimRight: true };
  if (text.startsWith("}}", at)) return { end: at + 2, trimRight: false };
  return undefined;
}

/** Reads one action starting after `{{` (and a left trim marker); `tokens` is undefined for a comment. */
function lexAction(text: string, start: number, open: number): { tokens?: Token[]; end: number; trimRight: boolean } {
  // As in Go, a comment must start right after the delimiter (or its trim marker): `{{ /* x */ }}` is an error.
  if (text.startsWith("/*", start)) {
    const commentEnd = text.indexOf("*/", start + 2);
    if (commentEnd === -1) throw new TemplateFailure("unclosed comment", open);
    const close = closeAt(text, commentEnd + 2);
    if (close === undefined) throw new TemplateFailure("comment ends before closing delimiter", commentEnd);
    return close;
  }

  const tokens: Token[] = [];
  let pos = start;
  for (;;) {
    const before = pos;
    // A right trim marker starts with a space; look for it before the spaces are skipped.
    const trimmedClose = closeAt(text, pos);
    if (trimmedClose?.trimRight) return { tokens, ...trimmedClose };
    while (isSpace(text[pos])) pos++;
    const spaced = pos > before || tokens.length === 0;
    if (pos >= text.length) throw new TemplateFailure("unclosed action", open, "close the action with `}}`");
    const close = closeAt(text, pos);
    if (close !== undefined) return { tokens, ...close };
    const token = lexToken(text, pos, spaced);
    tokens.push(token.token);
    pos = token.end;
  }
}

/** One token at `pos`, which is not white space or a closing delimiter. */
function lexToken(text: string, pos: number, spaced: boolean): { token: Token; end: number } {
  const ch = text[pos]!;
  const symbol = Symbols.find(([written]) => text.startsWith(written, pos));
  if (symbol !== undefined) return { token: { t: symbol[1], pos, spaced }, end: pos + symbol[0].length };
  if (ch === '"') {
    const end = scanQuoted(text, pos, '"');
    return { token: { t: "string", value: unquote(text.slice(pos + 1, end - 1), pos), pos, spaced }, end };
  }
  if (ch === "`") {
    const end = text.indexOf("`", pos + 1);
    if (end === -1) throw new TemplateFailure("unterminated raw quoted string", pos);
    return { token: { t: "string", value: text.slice(pos + 1, end), pos, spaced }, end: end + 1 };
  }
  if (ch === "'") {
    const end = scanQuoted(text, pos, "'");
    const value = unquote(text.slice(pos + 1, end - 1), pos);
    if ([...value].length !== 1) throw new TemplateFailure(`malformed character constant: ${text.slice(pos, end)}`, pos);
    return { token: { t: "number", value: value.codePointAt(0)!, pos, spaced }, end };
  }
  if (ch === "$") {
    const end = scanIdent(text, pos + 1);
    return { token: { t: "var", name: text.slice(pos, end), pos, spaced }, end };
  }
  if (ch === "." && !/[0-9]/.test(text[pos + 1] ?? "")) {
    if (!IdentStart.test(text[pos + 1] ?? "")) return { token: { t: "dot", pos, spaced }, end: pos + 1 };
    const end = scanIdent(text, pos + 1);
    return { token: { t: "field", name: text.slice(pos + 1, end), pos, spaced }, end };
  }
  if (/[0-9+\-.]/.test(ch)) {
    const match = NumberPattern.exec(text.slice(pos));
    if (match === null) throw new TemplateFailure(`bad number syntax: "${text.slice(pos, pos + 8)}"`, pos);
    const literal = match[0].replace(/_/g, "");
    // Number() reads 0x and 0b but not a signed 0o literal.
    const value = /^[+-]?0[oO]/.test(literal) ? (literal.startsWith("-") ? -1 : 1) * parseInt(literal.replace(/^[+-]?0[oO]/, ""), 8) : Number(literal);
    if (Number.isNaN(value)) throw new TemplateFailure(`bad number syntax: "${match[0]}"`, pos);
    return { token: { t: "number", value, pos, spaced }, end: pos + match[0].length };
  }
  if (IdentStart.test(ch)) {
    const end = scanIdent(text, pos);
    const name = text.slice(pos, end);
    if (name === "true" || name === "false") return { token: { t: "bool", value: name === "true", pos, spaced }, end };
    if (name === "nil") return { token: { t: "nil", pos, spaced }, end };
    return { token: { t: "ident", name, pos, spaced }, end };
  }
  throw new TemplateFailure(`unexpected "${ch}" in action`, pos);
}

function scanIdent(text: string, start: number): number {
  let pos = start;
  while (pos < text.length && IdentChar.test(text[pos]!)) pos++;
  return pos;
}

/** The offset just past the closing quote of a quoted literal that opens at `start`. */
function scanQuoted(text: string, start: number, quote: string): number {
  let pos = start + 1;
  while (pos < text.length) {
    const ch = text[pos];
    if (ch === "\\") pos += 2;
    else if (ch === quote) return pos + 1;
    else if (ch === "\n") break;
    else pos++;
  }
  throw new TemplateFailure("unterminated quoted string", start);
}

/** Go's escapes are JSON's plus `\a \v \xHH \ooo \UHHHHHHHH` and `\'`. */
function unquote(body: string, pos: number): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const next = body[++i];
    if (next !== undefined && next in SimpleEscapes) {
      out += SimpleEscapes[next];
    } else if (next === "x" || next === "u" || next === "U") {
      const width = next === "x" ? 2 : next === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw new TemplateFailure(`invalid escape "\\${next}${hex}" in string`, pos);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += width;
    } else if (next !== undefined && /[0-7]/.test(next)) {
      const octal = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(octal)) throw new TemplateFailure(`invalid escape "\\${octal}" in string`, pos);
      out += String.fromCharCode(parseInt(octal, 8));
      i += 2;
    } else {
      throw new TemplateFailure(`invalid escape "\\${next ?? ""}" in string`, pos);
    }
  }
  return out;
}
