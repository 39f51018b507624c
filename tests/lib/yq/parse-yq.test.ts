import { expect, test } from "bun:test";
import { MaxYqNesting, parseYq, type YqNode } from "../../../lib/yq/parse-yq.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

/** The tree as a compact string, so rows can show how operators group. */
function shape(node: YqNode): string {
  switch (node.kind) {
    case "identity":
      return ".";
    case "index":
      return `${shape(node.target)}[${JSON.stringify(node.key)}]`;
    case "iterate":
      return `${shape(node.target)}[]`;
    case "literal":
      return JSON.stringify(node.value);
    case "array":
      return `[${node.body === undefined ? "" : shape(node.body)}]`;
    case "object":
      return `{${node.entries.map((entry) => `${entry.key}: ${shape(entry.value)}`).join(", ")}}`;
    case "binary":
      return `(${shape(node.left)} ${node.operator} ${shape(node.right)})`;
    case "call":
      return node.argument === undefined ? node.name : `${node.name}(${shape(node.argument)})`;
  }
}

interface ShapeRow {
  expr: string;
  expected: string;
}

const shapeRows: ShapeRow[] = [
  { expr: ".a.b[0][-1][\"k\"][]", expected: '.["a"]["b"][0][-1]["k"][]' },
  { expr: ".", expected: "." },
  { expr: '.["k"]', expected: '.["k"]' },
  { expr: ".a = 1 | .b = 2", expected: '((.["a"] = 1) | (.["b"] = 2))' },
  { expr: ".a, .b | .c", expected: '(.["a"] , (.["b"] | .["c"]))' },
  { expr: ".a == 1 | not", expected: '((.["a"] == 1) | not)' },
  { expr: ".a == 1 and .b != 2 or .c", expected: '(((.["a"] == 1) and (.["b"] != 2)) or .["c"])' },
  { expr: ".a = .b + 1", expected: '(.["a"] = (.["b"] + 1))' },
  { expr: ".a += [1] | .a |= unique", expected: '((.["a"] += [1]) | (.["a"] |= unique))' },
  { expr: "[.a[] | select(.x >= 2)]", expected: '[(.["a"][] | select((.["x"] >= 2)))]' },
  { expr: '{"k": .a | length, k2: 1}', expected: '{k: (.["a"] | length), k2: 1}' },
  { expr: "(.a, .b) = 5", expected: '((.["a"] , .["b"]) = 5)' },
  { expr: "del(.a[0])", expected: 'del(.["a"][0])' },
  { expr: "[]", expected: "[]" },
  { expr: "{}", expected: "{}" },
  { expr: ".a-b", expected: '.["a-b"]' },
  { expr: "[-1, 2.5e1]", expected: "[(-1 , 25)]" },
  { expr: '"\\t"', expected: '"\\t"' },
];

test.each(shapeRows)("parseYq() groups $expr as yq does", ({ expr, expected }) => {
  expect(shape(parseYq(expr))).toBe(expected);
});

interface SyntaxRow {
  expr: string;
  reason: string;
}

const syntaxRows: SyntaxRow[] = [
  { expr: ".cpus = ", reason: "unexpected end of expression at column 9" },
  { expr: "", reason: "unexpected end of expression at column 1" },
  { expr: ".a[", reason: "unexpected end of expression at column 4" },
  { expr: ".a[.b]", reason: 'expected a number or a double-quoted string inside "[]" but found ".b" at column 4' },
  { expr: ".a[1.5]", reason: "array index 1.5 is not an integer at column 4" },
  { expr: ".a[0", reason: 'expected "]" before the end of expression at column 5' },
  { expr: "(.a", reason: 'expected ")" before the end of expression at column 4' },
  { expr: ".a ]", reason: 'unexpected "]" at column 4' },
  { expr: ".cpus = 4GiB", reason: 'unexpected "GiB" at column 10' },
  { expr: '{"a" 1}', reason: 'expected ":" but found "1" at column 6' },
  { expr: "{[1]: 2}", reason: 'expected a key but found "[" at column 2' },
  { expr: '{"a": 1', reason: 'expected "}" before the end of expression at column 8' },
  { expr: '{"a": 1 "b": 2}', reason: 'expected "," or "}" but found ""b"" at column 9' },
  { expr: "select .a", reason: 'operator "select" needs an argument in parentheses at column 8' },
  { expr: "length()", reason: 'operator "length" takes no argument at column 7' },
  { expr: ".a | env(HOME)", reason: 'operator "env" is disabled at column 6' },
  { expr: "strenv(HOME)", reason: 'operator "strenv" is disabled at column 1' },
  { expr: 'load("x")', reason: 'operator "load" is disabled at column 1' },
  { expr: 'load_str("x")', reason: 'operator "load_str" is disabled at column 1' },
  { expr: 'system("x")', reason: 'operator "system" is disabled at column 1' },
  { expr: ".a | tojson", reason: 'operator "tojson" is not supported at column 6' },
];

test.each(syntaxRows)("parseYq() rejects $expr", ({ expr, reason }) => {
  const error = expectYqError(() => parseYq(expr), `Cannot evaluate yq expression "${expr}": ${reason}`);
  expect(error.hint).toContain("den supports a subset of yq; see README");
});

test.each([
  { name: "parentheses", expr: `${"(".repeat(MaxYqNesting + 1)}.${")".repeat(MaxYqNesting + 1)}` },
  { name: "a chain of fields", expr: ".a".repeat(MaxYqNesting + 1) },
  { name: "a chain of additions", expr: Array.from({ length: MaxYqNesting + 1 }, () => "1").join(" + ") },
])("parseYq() refuses $name nested deeper than MaxYqNesting", ({ expr }) => {
  expect(() => parseYq(expr)).toThrow(`the expression nests more than ${MaxYqNesting} levels deep`);
});

test("parseYq() accepts a chain as deep as MaxYqNesting", () => {
  expect(() => parseYq(".a".repeat(MaxYqNesting - 1))).not.toThrow();
});
