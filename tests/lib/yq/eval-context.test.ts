import { expect, test } from "bun:test";
import { EvalContext } from "../../../lib/yq/eval-context.ts";
import { YqBudget, YqLimits } from "../../../lib/yq/yq-budget.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

test("EvalContext.fail() quotes the expression and points at the column", () => {
  const ctx = new EvalContext(".a + 1", new YqBudget(null));
  const error = expectYqError(() => ctx.fail("it went wrong", 3), 'Cannot evaluate yq expression ".a + 1": it went wrong at column 4');
  expect(error.hint).toBe("check the types of the values the expression reads; den supports a subset of yq, see README");
});

test("EvalContext.spend() refuses once the budget's steps are used up", () => {
  const ctx = new EvalContext(".", new YqBudget(null));
  ctx.spend(YqLimits.steps, 0);
  const error = expectYqError(() => ctx.spend(1, 0), `Cannot evaluate yq expression ".": the expression needs more than ${YqLimits.steps} steps at column 1`);
  expect(error.hint).toContain("den bounds what an expression may build");
});

test("EvalContext shares its budget with every context built on it", () => {
  const budget = new YqBudget(null);
  new EvalContext(".a", budget).spend(YqLimits.steps, 0);
  expect(() => new EvalContext(".b", budget).spend(1, 0)).toThrow('".b": the expression needs more than');
});

test("EvalContext.bounded() returns a value within the limits", () => {
  const value = { a: [1, 2] };
  expect(new EvalContext(".", new YqBudget(null)).bounded(value, 0)).toBe(value);
});

test.each([
  { name: "grows past the input by more than the growth limit", value: "x".repeat(YqLimits.growth + 1), reason: `the result would grow by more than ${YqLimits.growth} items and characters` },
  { name: "nests deeper than the depth limit", value: JSON.parse(`${"[".repeat(YqLimits.depth + 1)}1${"]".repeat(YqLimits.depth + 1)}`), reason: `the result would nest more than ${YqLimits.depth} levels deep` },
])("EvalContext.bounded() refuses a value that $name", ({ value, reason }) => {
  const ctx = new EvalContext(".", new YqBudget(null));
  expectYqError(() => ctx.bounded(value, 0), `Cannot evaluate yq expression ".": ${reason} at column 1`);
});
