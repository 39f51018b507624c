import { expect, test } from "bun:test";
import { DenError } from "../../../lib/errors.ts";
import { yqExpressionError, YqSubsetHint } from "../../../lib/yq/yq-expression-error.ts";

test("yqExpressionError() names the expression, the reason and the 1-based column", () => {
  const error = yqExpressionError(".a ]", 'unexpected "]"', { pos: 3 });
  expect(error).toBeInstanceOf(DenError);
  expect(error.code).toBe("YQ_EXPR");
  expect(error.message).toBe('Cannot evaluate yq expression ".a ]": unexpected "]" at column 4');
  expect(error.details).toEqual({ expression: ".a ]", column: 4 });
});

test.each([
  { name: "the subset hint by default", hint: undefined, expected: YqSubsetHint },
  { name: "the hint it is given", hint: "use double quotes", expected: "use double quotes" },
])("yqExpressionError() carries $name", ({ hint, expected }) => {
  expect(yqExpressionError(".", "reason", { pos: 0, hint }).hint).toBe(expected);
});

test("yqExpressionError() shortens a long expression in the message but keeps it whole in the details", () => {
  const expr = `.a = "${"x".repeat(500)}"`;
  const error = yqExpressionError(expr, "reason", { pos: 0 });
  expect(error.message.length).toBeLessThan(300);
  expect(error.details).toEqual({ expression: expr, column: 1 });
});
