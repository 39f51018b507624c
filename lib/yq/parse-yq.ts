// Parsing for den's yq subset (the language is described in evaluate-yq.ts): tokens (tokenize-yq.ts) become a
// tree. Binding strength follows yq v4's operator table: `,` is weakest, then `and`/`or`, then `|`, then the
// assignments and comparisons, then `+`; so `.a = 1 | .b = 2` is two assignments and `.a == 1 | not` negates the test.
import { type DenError, excerpt } from "../errors.ts";
import { type Token, tokenizeYq } from "./tokenize-yq.ts";
import { yqExpressionError } from "./yq-expression-error.ts";

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

/**
 * How deeply an expression may nest: parentheses, brackets, braces and calls, and chains such as `.a.b.c…` or
 * `1 + 1 + …`. Parsing and evaluating recurse once per level; without a bound a long enough expression would
 * overflow the stack.
 */
export const MaxYqNesting = 1000;

/** Parses one expression of the subset; a syntax error throws DenError("YQ_EXPR") naming the column. */
export function parseYq(expr: string): YqNode {
  const tokens = tokenizeYq(expr);
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
      ? yqExpressionError(expr, "unexpected end of expression", { pos: token.pos })
      : yqExpressionError(expr, `unexpected "${excerpt(token.text, 40)}"`, { pos: token.pos });
  const expect = (value: string): Token => {
    const token = peek();
    if (!isPunct(token, value)) {
      if (token.kind === "end") throw yqExpressionError(expr, `expected "${value}" before the end of expression`, { pos: token.pos });
      throw yqExpressionError(expr, `expected "${value}" but found "${excerpt(token.text, 40)}"`, { pos: token.pos });
    }
    return next();
  };
  const binaryOperator = (token: Token): YqBinaryOperator | undefined => {
    if (token.kind === "word" && (token.value === "and" || token.value === "or")) return token.value;
    if (token.kind === "punct" && typeof token.value === "string" && token.value in precedence) return token.value as YqBinaryOperator;
    return undefined;
  };

  let depth = 0;
  const parseExpression = (minPrecedence: number): YqNode => {
    if (++depth > MaxYqNesting) throw tooDeep(expr, peek().pos);
    let left = parsePostfix();
    for (;;) {
      const token = peek();
      const operator = binaryOperator(token);
      if (operator === undefined || precedence[operator] < minPrecedence) {
        depth--;
        return left;
      }
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
          throw yqExpressionError(expr, `expected a number or a double-quoted string inside "[]" but found "${excerpt(inner.text, 40)}"`, { pos: inner.pos });
        }
        if (inner.kind === "number" && !Number.isInteger(inner.value)) {
          throw yqExpressionError(expr, `array index ${excerpt(inner.text, 40)} is not an integer`, { pos: inner.pos });
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
    if (disabledOperators.has(word)) throw yqExpressionError(expr, `operator "${word}" is disabled`, { pos: token.pos });
    if (!functionNames.has(word)) throw yqExpressionError(expr, `operator "${excerpt(word, 40)}" is not supported`, { pos: token.pos });
    const name = word as YqFunctionName;
    if (!takesArgument.has(name)) {
      if (isPunct(peek(), "(")) throw yqExpressionError(expr, `operator "${name}" takes no argument`, { pos: peek().pos });
      return { kind: "call", name, argument: undefined, pos: token.pos };
    }
    if (!isPunct(peek(), "(")) throw yqExpressionError(expr, `operator "${name}" needs an argument in parentheses`, { pos: peek().pos });
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
        throw yqExpressionError(expr, `expected a key but found "${excerpt(keyToken.text, 40)}"`, { pos: keyToken.pos });
      }
      expect(":");
      entries.push({ key: String(keyToken.value), value: parseExpression(objectValuePrecedence) });
      const separator = next();
      if (isPunct(separator, "}")) return { kind: "object", entries, pos: open.pos };
      if (!isPunct(separator, ",")) {
        if (separator.kind === "end") throw yqExpressionError(expr, 'expected "}" before the end of expression', { pos: separator.pos });
        throw yqExpressionError(expr, `expected "," or "}" but found "${excerpt(separator.text, 40)}"`, { pos: separator.pos });
      }
    }
  };

  const root = parseExpression(0);
  const rest = peek();
  if (rest.kind !== "end") throw unexpected(rest);
  // Chains such as `.a.b.c…` or `1 + 1 + …` are parsed in a loop but build a tree as deep as they are long.
  const deepest = deepestNode(root);
  if (deepest.depth > MaxYqNesting) throw tooDeep(expr, deepest.pos);
  return root;
}

function tooDeep(expr: string, pos: number): DenError {
  return yqExpressionError(expr, `the expression nests more than ${MaxYqNesting} levels deep`, { pos });
}

/** The depth of the tree and the position of its first node below the limit, walked without recursion. */
function deepestNode(root: YqNode): { depth: number; pos: number } {
  let deepest = { depth: 0, pos: root.pos };
  const stack: { node: YqNode; depth: number }[] = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (depth > deepest.depth) deepest = { depth, pos: node.pos };
    if (depth > MaxYqNesting) return deepest;
    for (const child of children(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return deepest;
}

function children(node: YqNode): YqNode[] {
  switch (node.kind) {
    case "index":
    case "iterate":
      return [node.target];
    case "array":
      return node.body === undefined ? [] : [node.body];
    case "object":
      return node.entries.map((entry) => entry.value);
    case "binary":
      return [node.left, node.right];
    case "call":
      return node.argument === undefined ? [] : [node.argument];
    default:
      return [];
  }
}
