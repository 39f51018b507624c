import { expect, test } from "bun:test";
import { EvalContext, type EvalSite } from "../../../lib/yq/eval-context.ts";
import { evaluateYqAll } from "../../../lib/yq/evaluate-yq.ts";
import { indexItem, iterateItem } from "../../../lib/yq/index-item.ts";
import { YqBudget, YqLimits } from "../../../lib/yq/yq-budget.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

const list = { a: [1, 2, 3] };
const people = { people: [{ name: "ann", age: 30 }, { name: "bob", age: 20 }, { name: "cy" }] };

function site(expr: string): EvalSite {
  return { ctx: new EvalContext(expr, new YqBudget(null)), pos: 1 };
}

test.each([
  { expr: ".", input: { a: 1 }, expected: [{ a: 1 }] },
  { expr: ".a.b", input: { a: { b: "x" } }, expected: ["x"] },
  { expr: ".a.missing", input: { a: {} }, expected: [null] },
  { expr: ".a.b.c", input: {}, expected: [null] },
  { expr: ".a[0]", input: list, expected: [1] },
  { expr: ".a[-1]", input: list, expected: [3] },
  { expr: ".a[-3]", input: list, expected: [1] },
  { expr: ".a[7]", input: list, expected: [null] },
  { expr: ".a[-7]", input: list, expected: [null] },
  { expr: '.a["k"]', input: { a: { k: 1 } }, expected: [1] },
  { expr: '.["k"]', input: { k: "v" }, expected: ["v"] },
  { expr: '.["a b"].c', input: { "a b": { c: true } }, expected: [true] },
  { expr: ".mount-type", input: { "mount-type": "9p" }, expected: ["9p"] },
  { expr: ".a[]", input: list, expected: [1, 2, 3] },
  { expr: ".a[]", input: { a: { x: 1, y: 2 } }, expected: [1, 2] },
  { expr: ".a[]", input: { a: null }, expected: [] },
  { expr: ".[]", input: [1, 2], expected: [1, 2] },
  { expr: ".people[].name", input: people, expected: ["ann", "bob", "cy"] },
  { expr: ".people[0].name", input: people, expected: ["ann"] },
  { expr: ".constructor", input: {}, expected: [null] },
])("evaluateYqAll() follows the path $expr", ({ expr, input, expected }) => {
  expect(evaluateYqAll(input, expr)).toEqual([...expected]);
});

test.each([
  { expr: ".a.b", input: { a: 5 }, message: 'Cannot evaluate yq expression ".a.b": cannot index a number with "b" at column 3' },
  { expr: ".a.b", input: { a: [1] }, message: 'Cannot evaluate yq expression ".a.b": cannot index an array with "b" at column 3' },
  { expr: ".a[0]", input: { a: { x: 1 } }, message: 'Cannot evaluate yq expression ".a[0]": cannot index a map with number 0 at column 3' },
  { expr: ".a[]", input: { a: "s" }, message: 'Cannot evaluate yq expression ".a[]": cannot iterate over a string at column 3' },
  { expr: ".a.b = 1", input: { a: "s" }, message: 'Cannot evaluate yq expression ".a.b = 1": cannot index a string with "b" at column 3' },
  { expr: ".a[] = 1", input: { a: 3 }, message: 'Cannot evaluate yq expression ".a[] = 1": cannot iterate over a number at column 3' },
])("evaluateYqAll() refuses the path $expr into the wrong type", ({ expr, input, message }) => {
  const error = expectYqError(() => evaluateYqAll(input, expr), message);
  expect(error.hint).toContain("see README");
});

test.each([
  { name: "a key of a map", item: { value: { k: 1 }, path: ["a"] }, key: "k", expected: { value: 1, path: ["a", "k"] } },
  { name: "a negative index, resolved from the end", item: { value: [1, 2], path: [] }, key: -1, expected: { value: 2, path: [1] } },
  { name: "an index still negative after resolving, kept", item: { value: [1], path: [] }, key: -3, expected: { value: null, path: [-3] } },
  { name: "any key of null", item: { value: null, path: ["a"] }, key: "k", expected: { value: null, path: ["a", "k"] } },
  { name: "a key of a value that is no location", item: { value: { k: 1 }, path: undefined }, key: "k", expected: { value: 1, path: undefined } },
])("indexItem() picks $name", ({ item, key, expected }) => {
  expect(indexItem(item, key, site(".x"))).toEqual(expected);
});

test("iterateItem() yields the values of a map with their paths", () => {
  expect(iterateItem({ value: { x: 1, y: null }, path: ["m"] }, site(".m[]"))).toEqual([
    { value: 1, path: ["m", "x"] },
    { value: null, path: ["m", "y"] },
  ]);
});

test("iterateItem() counts each element against the budget", () => {
  const budget = new YqBudget(null);
  budget.spend(YqLimits.steps - 2);
  expect(() => iterateItem({ value: [1, 2, 3], path: [] }, { ctx: new EvalContext(".[]", budget), pos: 1 })).toThrow("needs more than");
});
