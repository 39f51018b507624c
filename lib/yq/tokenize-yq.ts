// Lexing for den's yq subset: the expression text becomes tokens, and characters outside the subset are
// refused here, each named (`operator "-" is not supported`) rather than reported as "unexpected".
import { excerpt } from "../errors.ts";
import { yqExpressionError, YqSubsetHint } from "./yq-expression-error.ts";

export type TokenKind = "field" | "dot" | "punct" | "number" | "string" | "word" | "end";

export interface Token {
  kind: TokenKind;
  /** The field name, punctuation, word, decoded string or number. */
  value: string | number;
  /** 0-based offset of the token's first character. */
  pos: number;
  /** The token as written, for messages. */
  text: string;
}

const punctuation = ["|=", "+=", "==", "!=", "<=", ">=", "|", ",", "=", "+", "<", ">", "(", ")", "[", "]", "{", "}", ":"];
/** yq operators outside the subset that are single characters, named in the error instead of "unexpected". */
const unsupportedPunctuation = ["//", "-", "*", "/", "%", "$", "@", "?", ";", "~"];
const identStart = /[A-Za-z_]/;
const identPart = /[A-Za-z0-9_]/;
/** Path keys may also hold "-" (`.mount-type`); den has no subtraction, so there is no ambiguity. */
const fieldPart = /[A-Za-z0-9_-]/;
const numberPattern = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/;

/** The tokens of `expr`, ending with one of kind "end"; a character outside the subset throws YQ_EXPR. */
export function tokenizeYq(expr: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const endsValue = () => {
    const last = tokens.at(-1);
    if (last === undefined) return false;
    if (last.kind === "punct") return last.value === ")" || last.value === "]" || last.value === "}";
    return !(last.kind === "word" && (last.value === "and" || last.value === "or"));
  };
  while (pos < expr.length) {
    const char = expr.charAt(pos);
    if (/\s/.test(char)) {
      pos++;
      continue;
    }
    const start = pos;
    if (char === ".") {
      if (identStart.test(expr.charAt(pos + 1))) {
        pos += 2;
        while (pos < expr.length && fieldPart.test(expr.charAt(pos))) pos++;
        const name = expr.slice(start + 1, pos);
        tokens.push({ kind: "field", value: name, pos: start, text: `.${name}` });
      } else {
        pos++;
        tokens.push({ kind: "dot", value: ".", pos: start, text: "." });
      }
      continue;
    }
    if (char === '"') {
      const { value, end } = readString(expr, start);
      pos = end;
      tokens.push({ kind: "string", value, pos: start, text: expr.slice(start, end) });
      continue;
    }
    if (char === "'") {
      throw yqExpressionError(expr, "single-quoted strings are not supported", { pos: start, hint: `use double quotes; ${YqSubsetHint}` });
    }
    const number = numberPattern.exec(expr.slice(pos));
    if (number !== null && (char !== "-" || !endsValue())) {
      pos += number[0].length;
      tokens.push({ kind: "number", value: Number(number[0]), pos: start, text: number[0] });
      continue;
    }
    if (identStart.test(char)) {
      while (pos < expr.length && identPart.test(expr.charAt(pos))) pos++;
      const word = expr.slice(start, pos);
      tokens.push({ kind: "word", value: word, pos: start, text: word });
      continue;
    }
    const punct = punctuation.find((candidate) => expr.startsWith(candidate, pos));
    const unsupported = unsupportedPunctuation.find((candidate) => expr.startsWith(candidate, pos));
    if (unsupported !== undefined && (punct === undefined || unsupported.length > punct.length)) {
      throw yqExpressionError(expr, `operator "${unsupported}" is not supported`, { pos: start });
    }
    if (punct === undefined) throw yqExpressionError(expr, `unexpected character "${excerpt(char)}"`, { pos: start });
    pos += punct.length;
    tokens.push({ kind: "punct", value: punct, pos: start, text: punct });
  }
  tokens.push({ kind: "end", value: "", pos: expr.length, text: "" });
  return tokens;
}

const escapes: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** A double-quoted string starting at `start`, with JSON's escapes. */
function readString(expr: string, start: number): { value: string; end: number } {
  let value = "";
  let pos = start + 1;
  while (pos < expr.length) {
    const char = expr.charAt(pos);
    if (char === '"') return { value, end: pos + 1 };
    if (char !== "\\") {
      value += char;
      pos++;
      continue;
    }
    const escape = expr.charAt(pos + 1);
    if (escape === "u" && /^[0-9A-Fa-f]{4}$/.test(expr.slice(pos + 2, pos + 6))) {
      value += String.fromCharCode(Number.parseInt(expr.slice(pos + 2, pos + 6), 16));
      pos += 6;
      continue;
    }
    const decoded = escapes[escape];
    if (decoded === undefined) throw yqExpressionError(expr, `invalid escape "\\${excerpt(escape)}" in string`, { pos });
    value += decoded;
    pos += 2;
  }
  throw yqExpressionError(expr, "unterminated string", { pos: start });
}
