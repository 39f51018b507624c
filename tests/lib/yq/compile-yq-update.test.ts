import { expect, test } from "bun:test";
import { compileYqUpdate } from "../../../lib/yq/compile-yq-update.ts";
import { YqLimits } from "../../../lib/yq/yq-budget.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

test.each([
  { name: "applies one expression", exprs: [".a = 1"], input: {}, expected: { a: 1 } },
  { name: "joins several expressions as a pipe", exprs: [".a = 1", ".b = .a + 1"], input: {}, expected: { a: 1, b: 2 } },
  { name: "leaves the value as it was when there is no expression", exprs: [], input: { a: 1 }, expected: { a: 1 } },
  { name: "reads null as the empty document", exprs: [".a.b = true"], input: null, expected: { a: { b: true } } },
])("compileYqUpdate() $name", ({ exprs, input, expected }) => {
  expect(compileYqUpdate(exprs)(input)).toEqual(expected);
});

test("compileYqUpdate() parses every expression before it is given a value", () => {
  expectYqError(() => compileYqUpdate([".cpus = 4", ".memory ="]), 'Cannot evaluate yq expression ".memory =": unexpected end of expression at column 10');
});

test("compileYqUpdate() quotes the failing expression, not the joined ones", () => {
  const update = compileYqUpdate([".a = 1", ".a.b = 2"]);
  expectYqError(() => update({}), 'Cannot evaluate yq expression ".a.b = 2": cannot index a number with "b" at column 3');
});

test("compileYqUpdate() refuses expressions that yield several documents", () => {
  const error = expectYqError(() => compileYqUpdate([".a, .a"])({ a: 1 }), 'Cannot apply yq expression ".a, .a": it yields 2 documents instead of one');
  expect(error.hint).toContain("an update expression must produce the whole document");
});

test("compileYqUpdate() bounds the growth of all its expressions together", () => {
  const half = "x".repeat(Math.ceil(YqLimits.growth / 2) + 1);
  expect(() => compileYqUpdate([`.a = "${half}"`])({})).not.toThrow();
  expect(() => compileYqUpdate([`.a = "${half}"`, `.b = "${half}"`])({})).toThrow("the result would grow by more than");
});

test("compileYqUpdate() can be applied to several values", () => {
  const update = compileYqUpdate([".n += 1"]);
  expect([update({ n: 1 }), update({ n: 5 })]).toEqual([{ n: 2 }, { n: 6 }]);
});
