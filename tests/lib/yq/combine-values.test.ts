import { expect, test } from "bun:test";
import { addValues, type CombineOptions, combineValues } from "../../../lib/yq/combine-values.ts";
import { EvalContext } from "../../../lib/yq/eval-context.ts";
import { evaluateYqAll } from "../../../lib/yq/evaluate-yq.ts";
import type { YqBinaryOperator } from "../../../lib/yq/parse-yq.ts";
import { YqBudget, YqLimits } from "../../../lib/yq/yq-budget.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

const people = { people: [{ name: "ann", age: 30 }, { name: "bob", age: 20 }, { name: "cy" }] };

test.each([
  { expr: ".a + .b", input: { a: 1, b: 2.5 }, expected: [3.5] },
  { expr: '.a + "!"', input: { a: "hi" }, expected: ["hi!"] },
  { expr: ".a + .b", input: { a: [1], b: [2, 3] }, expected: [[1, 2, 3]] },
  { expr: ".a + 4", input: { a: [1] }, expected: [[1, 4]] },
  { expr: ".a + .b", input: { a: { x: 1, y: 1 }, b: { y: 2, z: 2 } }, expected: [{ x: 1, y: 2, z: 2 }] },
  { expr: ".a + .b", input: { a: { x: { p: 1 } }, b: { x: { q: 2 } } }, expected: [{ x: { q: 2 } }] },
  { expr: ".missing + [1]", input: {}, expected: [[1]] },
  { expr: "[1] + .missing", input: {}, expected: [[1]] },
  { expr: "1 + 2 + 3", input: null, expected: [6] },
  { expr: ".people[] | select(.age > 25) | .name", input: people, expected: ["ann"] },
  { expr: '.people[] | select(.name == "bob") | .age', input: people, expected: [20] },
  { expr: '.people[] | select(.name != "bob") | .name', input: people, expected: ["ann", "cy"] },
  { expr: ".people[] | select(.age >= 20 and .age <= 25) | .name", input: people, expected: ["bob"] },
  { expr: ".people[] | select(.age < 25 or .age == null) | .name", input: people, expected: ["bob", "cy"] },
  { expr: '[.a[] | select(. > "b")]', input: { a: ["a", "b", "c"] }, expected: [["c"]] },
  { expr: ".a == .b", input: { a: { k: [1] }, b: { k: [1] } }, expected: [true] },
  { expr: '.a == "1"', input: { a: 1 }, expected: [false] },
  { expr: ".a == null", input: {}, expected: [true] },
])("evaluateYqAll() combines values in $expr", ({ expr, input, expected }) => {
  expect(evaluateYqAll(input, expr)).toEqual([...expected]);
});

test.each([
  { expr: ".a + 1", input: { a: { x: 1 } }, message: 'Cannot evaluate yq expression ".a + 1": operator "+" cannot add a map and a number at column 4' },
  { expr: '.a + "s"', input: { a: 1 }, message: 'Cannot evaluate yq expression ".a + "s"": operator "+" cannot add a number and a string at column 4' },
  { expr: ".a += 1", input: { a: "x" }, message: 'Cannot evaluate yq expression ".a += 1": operator "+" cannot add a string and a number at column 4' },
  { expr: '.a < "x"', input: { a: 1 }, message: 'Cannot evaluate yq expression ".a < "x"": operator "<" cannot compare a number with a string at column 4' },
])("evaluateYqAll() refuses $expr on the wrong types", ({ expr, input, message }) => {
  const error = expectYqError(() => evaluateYqAll(input, expr), message);
  expect(error.hint).toContain("see README");
});

function options(operator: YqBinaryOperator): CombineOptions {
  return { operator, ctx: new EvalContext(".", new YqBudget(null)), pos: 0 };
}

test.each([
  { left: null, right: 1, operator: "<" as const, expected: true },
  { left: 1, right: null, operator: ">" as const, expected: true },
  { left: null, right: null, operator: "<=" as const, expected: true },
  { left: "b", right: "a", operator: ">=" as const, expected: true },
  { left: [1], right: [1], operator: "!=" as const, expected: false },
  { left: { a: 1 }, right: { a: 1 }, operator: "+" as const, expected: { a: 1 } },
])("combineValues() gives $left $operator $right as $expected", ({ left, right, operator, expected }) => {
  expect(combineValues(left, right, options(operator))).toEqual(expected);
});

test("addValues() does not change its operands", () => {
  const left = { a: [1] };
  const right = { b: 2 };
  expect(addValues(left, right, options("+"))).toEqual({ a: [1], b: 2 });
  expect(left).toEqual({ a: [1] });
});

test("addValues() refuses a string that grows past the limit", () => {
  expect(() => addValues("x".repeat(YqLimits.growth), "y", options("+"))).toThrow("the result would grow by more than");
});
