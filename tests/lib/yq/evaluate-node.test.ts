import { expect, test } from "bun:test";
import { EvalContext } from "../../../lib/yq/eval-context.ts";
import { evaluateNode } from "../../../lib/yq/evaluate-node.ts";
import { evaluateYq, evaluateYqAll } from "../../../lib/yq/evaluate-yq.ts";
import { parseYq } from "../../../lib/yq/parse-yq.ts";
import { YqBudget, YqLimits } from "../../../lib/yq/yq-budget.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

const list = { a: [1, 2, 3] };

test.each([
  { expr: ".a, .b", input: { a: 1, b: 2 }, expected: [1, 2] },
  { expr: "(.a, .b) | . + 1", input: { a: 1, b: 2 }, expected: [2, 3] },
  // yq binds `,` more loosely than `|`.
  { expr: ".a, .b | length", input: { a: 1, b: "xyz" }, expected: [1, 3] },
  { expr: ".a[] | .", input: { a: ["x"] }, expected: ["x"] },
  { expr: "true and false, true or false", input: null, expected: [false, true] },
  { expr: "1.5, -3, 2e3", input: null, expected: [1.5, -3, 2000] },
  { expr: '"a\\"b\\n\\u00e9\\\\"', input: null, expected: ['a"b\né\\'] },
  { expr: "true, false, null", input: { a: 1 }, expected: [true, false, null] },
  { expr: "[]", input: null, expected: [[]] },
  { expr: '[1, "a", .x]', input: { x: [2] }, expected: [[1, "a", [2]]] },
  { expr: "[.a[] | . + 10]", input: list, expected: [[11, 12, 13]] },
  { expr: '{"k": 1, k2: .a, "n": {}}', input: { a: "v" }, expected: [{ k: 1, k2: "v", n: {} }] },
  { expr: '{"k": .a[]}', input: { a: [1, 2] }, expected: [{ k: 1 }, { k: 2 }] },
  { expr: '{"k": .a | length}', input: { a: [1, 2] }, expected: [{ k: 2 }] },
])("evaluateYqAll() evaluates $expr", ({ expr, input, expected }) => {
  expect(evaluateYqAll(input, expr)).toEqual([...expected]);
});

interface UpdateRow {
  expr: string;
  input: unknown;
  expected: unknown;
}

const updateRows: UpdateRow[] = [
  { expr: ".a = 1", input: { a: 0, b: 2 }, expected: { a: 1, b: 2 } },
  { expr: ".a.b.c = 1", input: {}, expected: { a: { b: { c: 1 } } } },
  { expr: ".a[0] = 1", input: {}, expected: { a: [1] } },
  { expr: '.a[2] = "x"', input: { a: [] }, expected: { a: [null, null, "x"] } },
  { expr: ".a[-1] = 9", input: { a: [1, 2] }, expected: { a: [1, 9] } },
  { expr: ".a[0].b = true", input: null, expected: { a: [{ b: true }] } },
  { expr: ".a = .b", input: { a: 1, b: { c: 2 } }, expected: { a: { c: 2 }, b: { c: 2 } } },
  { expr: ".a.x = .y", input: { a: { y: "inner" }, y: "outer" }, expected: { a: { y: "inner", x: "outer" }, y: "outer" } },
  { expr: ".a |= . + 1", input: { a: 1 }, expected: { a: 2 } },
  { expr: ".a.x |= .y", input: { a: { x: { y: "inner" } }, y: "outer" }, expected: { a: { x: "inner" }, y: "outer" } },
  { expr: ".a[] |= . + 1", input: { a: [1, 2] }, expected: { a: [2, 3] } },
  { expr: ".a[] = 0", input: { a: [1, 2] }, expected: { a: [0, 0] } },
  { expr: ".a[] = 0", input: { a: { x: 1, y: 2 } }, expected: { a: { x: 0, y: 0 } } },
  { expr: ".a[].w = true", input: { a: [{}, { w: false }] }, expected: { a: [{ w: true }, { w: true }] } },
  { expr: ".mounts[].writable = true", input: { mounts: null }, expected: { mounts: null } },
  { expr: ".mounts[].writable = true", input: {}, expected: {} },
  { expr: ".a += [3]", input: { a: [1, 2] }, expected: { a: [1, 2, 3] } },
  { expr: ".a += [3]", input: {}, expected: { a: [3] } },
  { expr: ".n += 2", input: { n: 1 }, expected: { n: 3 } },
  { expr: '.s += "x"', input: { s: "a" }, expected: { s: "ax" } },
  { expr: ".a.b += .c", input: { a: { b: [1], c: [9] }, c: [2] }, expected: { a: { b: [1, 2], c: [9] }, c: [2] } },
  { expr: ".a += [1] | .a |= unique", input: { a: [1, 2] }, expected: { a: [1, 2] } },
  { expr: '.images = [.images[] | select(.arch == "x86_64")]', input: { images: [{ arch: "x86_64" }, { arch: "aarch64" }] }, expected: { images: [{ arch: "x86_64" }] } },
  { expr: '.param["K"] = "V"', input: { param: { A: "1" } }, expected: { param: { A: "1", K: "V" } } },
  { expr: '.["a b"] = 1', input: {}, expected: { "a b": 1 } },
  { expr: ".a = 1 | .b = 2", input: {}, expected: { a: 1, b: 2 } },
  { expr: "(.a, .b) = 5", input: {}, expected: { a: 5, b: 5 } },
  { expr: '.a = {"k": .b, "l": [.b]}', input: { b: 1 }, expected: { a: { k: 1, l: [1] }, b: 1 } },
  { expr: ".a = null", input: { a: [1] }, expected: { a: null } },
  { expr: ".a |= del(.b)", input: { a: { b: 1, c: 2 } }, expected: { a: { c: 2 } } },
  { expr: ".list |= sort", input: { list: [3, 1, 2] }, expected: { list: [1, 2, 3] } },
  { expr: ".x |= length", input: { x: [1, 2] }, expected: { x: 2 } },
  { expr: ".a = .a + .b", input: { a: [1], b: [2] }, expected: { a: [1, 2], b: [2] } },
  { expr: ".people[] |= select(.age > 1) | .n = 1", input: { people: [] }, expected: { people: [], n: 1 } },
  { expr: ".a.b = 1 | del(.a)", input: {}, expected: {} },
  { expr: "(.a | .b) = 2", input: { a: { b: 1 } }, expected: { a: { b: 2 } } },
  // The right side yields nothing, so there is nothing to assign.
  { expr: ".a = .b[]", input: { a: 1, b: [] }, expected: { a: 1, b: [] } },
  { expr: ".__proto__ = 1", input: {}, expected: JSON.parse('{"__proto__": 1}') },
];

test.each(updateRows)("evaluateYq() applies $expr", ({ expr, input, expected }) => {
  expect(evaluateYq(input, expr)).toEqual(expected);
});

test("evaluateYqAll() yields one document per assignment joined with a comma", () => {
  expect(evaluateYqAll({}, ".a = 1, .b = 2")).toEqual([{ a: 1 }, { b: 2 }]);
});

test.each([
  { expr: "1 = 2", input: {}, message: 'Cannot evaluate yq expression "1 = 2": operator "=" needs a path on its left, such as .a.b at column 1' },
])("evaluateYqAll() refuses $expr", ({ expr, input, message }) => {
  const error = expectYqError(() => evaluateYqAll(input, expr), message);
  expect(error.hint).toContain("see README");
});

test("evaluateNode() yields the path of each result that is a location in the input", () => {
  const ctx = new EvalContext(".a[], .b", new YqBudget(null));
  const out = evaluateNode(parseYq(".a[], .b, 1"), { value: { a: [5], b: 6 }, path: [] }, ctx);
  expect(out).toEqual([
    { value: 5, path: ["a", 0] },
    { value: 6, path: ["b"] },
    { value: 1, path: undefined },
  ]);
});

test.each([
  { left: 3, fits: true },
  { left: 2, fits: false },
])("evaluateNode() counts each node of `. | .` as a step: $left steps left fit: $fits", ({ left, fits }) => {
  const budget = new YqBudget(null);
  budget.spend(YqLimits.steps - left);
  const run = () => evaluateNode(parseYq(". | ."), { value: null, path: [] }, new EvalContext(". | .", budget));
  if (fits) expect(run()).toEqual([{ value: null, path: [] }]);
  else expect(run).toThrow("needs more than");
});
