import { expect, test } from "bun:test";
import type { DenError } from "../../../lib/errors.ts";
import { evaluateYq, evaluateYqAll } from "../../../lib/yq/evaluate-yq.ts";

test.each([
  { name: "null input", input: null },
  { name: "undefined input", input: undefined },
])("evaluateYqAll() reads $name as null", ({ input }) => {
  expect(evaluateYqAll(input, ".")).toEqual([null]);
});

test("evaluateYqAll() yields every result of the expression", () => {
  expect(evaluateYqAll({ a: [1, 2] }, ".a[]")).toEqual([1, 2]);
});

test("evaluateYq() yields the first result", () => {
  expect(evaluateYq({ a: [1, 2] }, ".a[]")).toBe(1);
});

test("evaluateYq() does not change its input", () => {
  const input = { a: { b: [1] } };
  evaluateYq(input, ".a.b += [2] | .a.c = 1 | del(.a.b[0])");
  expect(input).toEqual({ a: { b: [1] } });
});

test("evaluateYq() returns null when the expression yields nothing", () => {
  expect(evaluateYq([1], ".[] | select(. > 5)")).toBeNull();
});

interface RefusedRow {
  expr: string;
  message: string;
}

const refusedRows: RefusedRow[] = [
  { expr: ".cpus = ", message: 'Cannot evaluate yq expression ".cpus = ": unexpected end of expression at column 9' },
  { expr: 'env("HOME")', message: 'Cannot evaluate yq expression "env("HOME")": operator "env" is disabled at column 1' },
  { expr: ".a = strenv(X)", message: 'Cannot evaluate yq expression ".a = strenv(X)": operator "strenv" is disabled at column 6' },
  { expr: '.a = load("f.yaml")', message: 'Cannot evaluate yq expression ".a = load("f.yaml")": operator "load" is disabled at column 6' },
  { expr: '.a = load_str("f")', message: 'Cannot evaluate yq expression ".a = load_str("f")": operator "load_str" is disabled at column 6' },
  { expr: '.a = system("id")', message: 'Cannot evaluate yq expression ".a = system("id")": operator "system" is disabled at column 6' },
  { expr: ".a | to_entries", message: 'Cannot evaluate yq expression ".a | to_entries": operator "to_entries" is not supported at column 6' },
];

test.each(refusedRows)("evaluateYq() refuses $expr with YQ_EXPR", ({ expr, message }) => {
  expect(() => evaluateYq({}, expr)).toThrow(message);
  try {
    evaluateYq({}, expr);
  } catch (error) {
    expect((error as DenError).code).toBe("YQ_EXPR");
    expect((error as DenError).hint).toBe("den supports a subset of yq; see README");
  }
});
