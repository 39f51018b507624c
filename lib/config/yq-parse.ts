// Lexer and parser for den's yq subset (the language is described in yq.ts). Binding strength follows
// yq v4's operator table: `,` is weakest, then `and`/`or`, then `|`, then the assignments and
// comparisons, then `+`; so `.a = 1 | .b = 2` is two assignments and `.a == 1 | not` negates the test.
import { DenError } from "../errors.ts";

export type YqBinaryOperator = "," | "and" | "or" | "|" | "=" | "|=" | "+=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+";

/** Functions the subset implements; the ones in `takesArgument` need `(expr)`. */
export type YqFunctionName = "select" | "unique" | "unique_by" | "del" | "length" | "keys" | "has" | "map" | "sort" | "not";

/** A parsed expression; `pos` is the 0-based offset of the token that names the node, for error columns. */
export type YqNode =
  | { kind: "identity"; pos: number }
  | { kind: "index"; target: YqNode; key: string | number; pos: number }
  | { kind: "iterate"; target: YqNode; pos: number }
  | { kind: "literal"; value: null | boolean | number | string; pos: number }
  | { kind: "array"; body: YqNode | undefined; pos: number }
  | { kind: "object"; entries: { key: string; value: YqNode }[]; pos: number }
  | { kind: "binary"; operator: YqBinaryOperator; left: YqNode; right: YqNode; pos: number }
  | { kind: "call"; name: YqFunctionName; argument: YqNode | undefined; pos: number };

const precedence: Record<YqBinaryOperator, number> = {
  ",": 10,
  and: 20,
  or: 20,
  "|": 30,
  "=": 40,
  "|=": 40,
  "+=": 40,
  "==": 40,
  "!=": 40,
  "<": 40,
  "<=": 40,
  ">": 40,
  ">=": 40,
  "+": 42,
};

/** Object values bind tighter than `,`, which separates the entries (yq's `:` sits just above `,`). */
const objectValuePrecedence = precedence[","] + 1;

const takesArgument = new Set<YqFunctionName>(["select", "unique_by", "del", "has", "map"]);
const functionNames = new Set<string>(["select", "unique", "unique_by", "del", "length", "keys", "has", "map", "sort", "not"]);
/** Operators yq has but den refuses: they read the host environment or files (Lima disables them too). */
const disabledOperators = new Set(["env", "strenv", "load", "load_str", "system"]);

const yqHint = "den supports a subset of yq; see README";

/** The error for an expression den cannot parse or evaluate; `pos` is a 0-based offset into `expr`. */
export function yqExpressionError(expr: string, reason: string, pos: number, hint: string = yqHint): DenError {
  return new DenError("YQ_EXPR", `Cannot evaluate yq expression "${expr}": ${reason} at column ${pos + 1}`, {
    hint,
    details: { expression: expr, column: pos + 1 },
  });
}

type TokenKind = "field" | "dot" | "punct" | "number" | "string" | "word" | "end";

interface Token {
  kind: TokenKind;
  /** The field name, punctuation, word, decoded string or number. */
  value: string | number;
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

function tokenize(expr: string): Token[] {
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
      throw yqExpressionError(expr, "single-quoted strings are not supported", start, `use double quotes; ${yqHint}`);
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
      throw yqExpressionError(expr, `operator "${unsupported}" is not supported`, start);
    }
    if (punct === undefined) throw yqExpressionError(expr, `unexpected character "${char}"`, start);
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
    if (decoded === undefined) throw yqExpressionError(expr, `invalid escape "\\${escape}" in string`, pos);
    value += decoded;
    pos += 2;
  }
  throw yqExpressionError(expr, "unterminated string", start);
}

/** Parses one expression of the subset; a syntax error throws DenError("YQ_EXPR") naming the column. */
export function parseYq(expr: string): YqNode {
  const tokens = tokenize(expr);
  let index = 0;
  const peek = (): Token => tokens[index] ?? tokens[tokens.length - 1]!;
  const next = (): Token => {
    const token = peek();
    if (token.kind !== "end") index++;
    return token;
  };
  const isPunct = (token: Token, value: string) => token.kind === "punct" && token.value === value;
  const unexpected = (token: Token): DenError =>
    token.kind === "end"
      ? yqExpressionError(expr, "unexpected end of expression", token.pos)
      : yqExpressionError(expr, `unexpected "${token.text}"`, token.pos);
  const expect = (value: string): Token => {
    const token = peek();
    if (!isPunct(token, value)) {
      if (token.kind === "end") throw yqExpressionError(expr, `expected "${value}" before the end of expression`, token.pos);
      throw yqExpressionError(expr, `expected "${value}" but found "${token.text}"`, token.pos);
    }
    return next();
  };
  const binaryOperator = (token: Token): YqBinaryOperator | undefined => {
    if (token.kind === "word" && (token.value === "and" || token.value === "or")) return token.value;
    if (token.kind === "punct" && typeof token.value === "string" && token.value in precedence) return token.value as YqBinaryOperator;
    return undefined;
  };

  const parseExpression = (minPrecedence: number): YqNode => {
    let left = parsePostfix();
    for (;;) {
      const token = peek();
      const operator = binaryOperator(token);
      if (operator === undefined || precedence[operator] < minPrecedence) return left;
      next();
      const right = parseExpression(precedence[operator] + 1);
      left = { kind: "binary", operator, left, right, pos: token.pos };
    }
  };

  const parsePostfix = (): YqNode => {
    let node = parsePrimary();
    for (;;) {
      const token = peek();
      if (token.kind === "field") {
        next();
        node = { kind: "index", target: node, key: token.value as string, pos: token.pos };
      } else if (isPunct(token, "[")) {
        next();
        const inner = next();
        if (isPunct(inner, "]")) {
          node = { kind: "iterate", target: node, pos: token.pos };
          continue;
        }
        if (inner.kind !== "number" && inner.kind !== "string") {
          if (inner.kind === "end") throw unexpected(inner);
          throw yqExpressionError(expr, `expected a number or a double-quoted string inside "[]" but found "${inner.text}"`, inner.pos);
        }
        if (inner.kind === "number" && !Number.isInteger(inner.value)) {
          throw yqExpressionError(expr, `array index ${inner.text} is not an integer`, inner.pos);
        }
        expect("]");
        node = { kind: "index", target: node, key: inner.value, pos: token.pos };
      } else {
        return node;
      }
    }
  };

  const parsePrimary = (): YqNode => {
    const token = next();
    switch (token.kind) {
      case "dot":
        return { kind: "identity", pos: token.pos };
      case "field":
        return { kind: "index", target: { kind: "identity", pos: token.pos }, key: token.value as string, pos: token.pos };
      case "number":
      case "string":
        return { kind: "literal", value: token.value, pos: token.pos };
      case "word":
        return parseWord(token);
      case "end":
        throw unexpected(token);
      case "punct":
        if (token.value === "(") {
          const inner = parseExpression(0);
          expect(")");
          return inner;
        }
        if (token.value === "[") {
          if (isPunct(peek(), "]")) {
            next();
            return { kind: "array", body: undefined, pos: token.pos };
          }
          const body = parseExpression(0);
          expect("]");
          return { kind: "array", body, pos: token.pos };
        }
        if (token.value === "{") return parseObject(token);
        throw unexpected(token);
    }
  };

  const parseWord = (token: Token): YqNode => {
    const word = token.value as string;
    if (word === "true" || word === "false") return { kind: "literal", value: word === "true", pos: token.pos };
    if (word === "null") return { kind: "literal", value: null, pos: token.pos };
    if (disabledOperators.has(word)) throw yqExpressionError(expr, `operator "${word}" is disabled`, token.pos);
    if (!functionNames.has(word)) throw yqExpressionError(expr, `operator "${word}" is not supported`, token.pos);
    const name = word as YqFunctionName;
    if (!takesArgument.has(name)) {
      if (isPunct(peek(), "(")) throw yqExpressionError(expr, `operator "${name}" takes no argument`, peek().pos);
      return { kind: "call", name, argument: undefined, pos: token.pos };
    }
    if (!isPunct(peek(), "(")) throw yqExpressionError(expr, `operator "${name}" needs an argument in parentheses`, peek().pos);
    next();
    const argument = parseExpression(0);
    expect(")");
    return { kind: "call", name, argument, pos: token.pos };
  };

  const parseObject = (open: Token): YqNode => {
    const entries: { key: string; value: YqNode }[] = [];
    if (isPunct(peek(), "}")) {
      next();
      return { kind: "object", entries, pos: open.pos };
    }
    for (;;) {
      const keyToken = next();
      if (keyToken.kind !== "string" && keyToken.kind !== "word") {
        if (keyToken.kind === "end") throw unexpected(keyToken);
        throw yqExpressionError(expr, `expected a key but found "${keyToken.text}"`, keyToken.pos);
      }
      expect(":");
      entries.push({ key: String(keyToken.value), value: parseExpression(objectValuePrecedence) });
      const separator = next();
      if (isPunct(separator, "}")) return { kind: "object", entries, pos: open.pos };
      if (!isPunct(separator, ",")) {
        if (separator.kind === "end") throw yqExpressionError(expr, 'expected "}" before the end of expression', separator.pos);
        throw yqExpressionError(expr, `expected "," or "}" but found "${separator.text}"`, separator.pos);
      }
    }
  };

  const root = parseExpression(0);
  const rest = peek();
  if (rest.kind !== "end") throw unexpected(rest);
  return root;
}
