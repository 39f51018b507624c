import { expect, test } from "bun:test";
import { EvalContext } from "../../../lib/yq/eval-context.ts";
import { evaluateYq, evaluateYqAll } from "../../../lib/yq/evaluate-yq.ts";
import { getPath, setPath } from "../../../lib/yq/set-path.ts";
import { YqBudget } from "../../../lib/yq/yq-budget.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

function setOptions(newValue: unknown) {
  return { newValue, ctx: new EvalContext(".x = 1", new YqBudget(null)), pos: 3 };
}

test.each([
  { name: "a key of a map", value: { a: { b: 1 } }, path: ["a", "b"], expected: 1 },
  { name: "an index of a list", value: { a: [1, 2] }, path: ["a", 1], expected: 2 },
  { name: "a missing key as null", value: { a: {} }, path: ["a", "b", "c"], expected: null },
  { name: "a negative index as null", value: [1], path: [-1], expected: null },
  { name: "a key of a scalar as null", value: { a: 1 }, path: ["a", "b"], expected: null },
  { name: "the value itself for an empty path", value: { a: 1 }, path: [], expected: { a: 1 } },
])("getPath() reads $name", ({ value, path, expected }) => {
  expect(getPath(value, path)).toEqual(expected);
});

test.each([
  { name: "creates maps for string keys", value: null, path: ["a", "b"], expected: { a: { b: 9 } } },
  { name: "creates lists padded with nulls for numeric keys", value: {}, path: ["a", 2], expected: { a: [null, null, 9] } },
  { name: "replaces an element of a list", value: [1, 2], path: [0], expected: [9, 2] },
  { name: "keeps the other keys in their order", value: { a: 1, b: 2 }, path: ["a"], expected: { a: 9, b: 2 } },
  { name: "replaces the value for an empty path", value: { a: 1 }, path: [], expected: 9 },
])("setPath() $name", ({ value, path, expected }) => {
  expect(setPath(value, path, setOptions(9))).toEqual(expected);
});

test("setPath() does not change its input", () => {
  const value = { a: { b: [1] } };
  setPath(value, ["a", "b", 0], setOptions(2));
  expect(value).toEqual({ a: { b: [1] } });
});

test.each([
  { name: "a key of a list", value: [1], path: ["a"], reason: 'cannot set key "a" of an array' },
  { name: "an index of a map", value: { a: 1 }, path: [0], reason: "cannot set index 0 of a map" },
  { name: "a negative index", value: [], path: [-1], reason: "cannot set index -1: it is out of range" },
])("setPath() refuses $name", ({ value, path, reason }) => {
  expectYqError(() => setPath(value, path, setOptions(9)), `Cannot evaluate yq expression ".x = 1": ${reason} at column 4`);
});

test("evaluateYqAll() refuses to assign to an index still negative from the end", () => {
  expectYqError(() => evaluateYqAll({ a: [1] }, ".a[-3] = 1"), 'Cannot evaluate yq expression ".a[-3] = 1": cannot set index -3: it is out of range at column 8');
});

test.each([
  { expr: ".a[1024] = 1", input: { a: [] }, ok: true },
  { expr: ".a[1025] = 1", input: { a: [1] }, ok: true },
  { expr: ".a[1025] = 1", input: { a: [] }, ok: false },
  { expr: ".b[1025] = 1", input: {}, ok: false },
])("evaluateYq() bounds how far $expr may pad $input with nulls", ({ expr, input, ok }) => {
  if (ok) expect((evaluateYq(input, expr) as { a: unknown[] }).a.at(-1)).toBe(1);
  else expect(() => evaluateYq(input, expr)).toThrow("past the end of the list");
});

