import { expect, test } from "bun:test";
import { YqBudget, YqLimits } from "../../../lib/yq/yq-budget.ts";

test.each([
  { name: "null", value: null, size: 1, depth: 0 },
  { name: "a number", value: 42, size: 1, depth: 0 },
  { name: "a string", value: "abcd", size: 5, depth: 0 },
  { name: "an empty list", value: [], size: 1, depth: 0 },
  { name: "a list of scalars", value: [1, "ab", null], size: 6, depth: 1 },
  { name: "a map of lists", value: { a: [1, 2], b: { c: "x" } }, size: 7, depth: 2 },
])("YqBudget.measure() of $name is size $size, depth $depth", ({ value, size, depth }) => {
  expect(new YqBudget(null).measure(value)).toEqual({ size, depth });
});

test("YqBudget.measure() counts a shared subtree once per use, measuring it once", () => {
  let value: unknown[] = [1];
  for (let i = 0; i < 40; i++) value = [value, value];
  const { size, depth } = new YqBudget(null).measure(value);
  expect(size).toBe(3 * 2 ** 40 - 1);
  expect(depth).toBe(41);
});

test("YqBudget.measure() walks a nesting deeper than the stack allows", () => {
  let value: unknown = "leaf";
  for (let i = 0; i < 200_000; i++) value = [value];
  expect(new YqBudget(null).measure(value)).toEqual({ size: 200_000 + 5, depth: 200_000 });
});

test("YqBudget.measure() ends on a cycle", () => {
  const cyclic: unknown[] = [1];
  cyclic.push(cyclic);
  expect(new YqBudget(null).measure(cyclic).size).toBe(3);
});

test("YqBudget allows the input's size plus the growth limit", () => {
  expect(new YqBudget({ a: "xyz" }).maxSize).toBe(5 + YqLimits.growth);
});

test("YqBudget.spend() refuses once the steps are used up", () => {
  const budget = new YqBudget(null);
  expect(budget.spend(YqLimits.steps)).toBe(true);
  expect(budget.spend(1)).toBe(false);
});
