import { expect, test } from "bun:test";
import { evaluateCall } from "../../../lib/yq/evaluate-call.ts";
import { EvalContext } from "../../../lib/yq/eval-context.ts";
import { evaluateNode } from "../../../lib/yq/evaluate-node.ts";
import { evaluateYqAll } from "../../../lib/yq/evaluate-yq.ts";
import { parseYq, type YqNode } from "../../../lib/yq/parse-yq.ts";
import { YqBudget } from "../../../lib/yq/yq-budget.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

const list = { a: [1, 2, 3] };
const people = { people: [{ name: "ann", age: 30 }, { name: "bob", age: 20 }, { name: "cy" }] };

test.each([
  { expr: '.people[] | select(.name == "ann" | not) | .name', input: people, expected: ["bob", "cy"] },
  { expr: ".people[] | select(has(\"age\") | not) | .name", input: people, expected: ["cy"] },
  { expr: "select(.x)", input: { x: false }, expected: [] },
  { expr: "select(.x)", input: { x: 0 }, expected: [{ x: 0 }] },
  { expr: ".a | not", input: { a: null }, expected: [true] },
  { expr: ".a | unique", input: { a: [3, 1, 3, 2, 1] }, expected: [[3, 1, 2]] },
  { expr: ".a | unique", input: { a: [{ x: 1 }, { x: 1 }, { x: 2 }] }, expected: [[{ x: 1 }, { x: 2 }]] },
  { expr: ".a | unique_by(.n)", input: { a: [{ n: 1, v: "a" }, { n: 2 }, { n: 1, v: "b" }] }, expected: [[{ n: 1, v: "a" }, { n: 2 }]] },
  // As in yq, entries without the key all count as "null" and collapse into the first of them.
  {
    expr: ".networks | unique_by(.lima)",
    input: { networks: [{ lima: "shared" }, { socket: "/s" }, { vzNAT: true }, { lima: "shared" }] },
    expected: [[{ lima: "shared" }, { socket: "/s" }]],
  },
  { expr: ".a | length", input: list, expected: [3] },
  { expr: ".a | length", input: { a: { x: 1, y: 2 } }, expected: [2] },
  { expr: ".a | length", input: { a: "héllo" }, expected: [5] },
  { expr: ".a | length", input: {}, expected: [0] },
  { expr: ".a | length", input: { a: 1234 }, expected: [4] },
  { expr: "keys", input: { b: 1, a: 2 }, expected: [["b", "a"]] },
  { expr: ".a | keys", input: { a: ["x", "y"] }, expected: [[0, 1]] },
  { expr: 'has("a"), has("z")', input: { a: null }, expected: [true, false] },
  { expr: ".a | (has(0), has(3), has(-1))", input: list, expected: [true, false, true] },
  { expr: '.missing | has("a")', input: {}, expected: [false] },
  { expr: ".a | map(. + 1)", input: list, expected: [[2, 3, 4]] },
  { expr: ".a | map(.n)", input: { a: { x: { n: 1 }, y: { n: 2 } } }, expected: [[1, 2]] },
  { expr: "map(select(. > 1))", input: [1, 2, 3], expected: [[2, 3]] },
  { expr: ".a | sort", input: { a: ["b", 3, null, "a", 1, true, false] }, expected: [[null, false, true, 1, 3, "a", "b"]] },
  { expr: "del(.a)", input: { a: 1, b: 2 }, expected: [{ b: 2 }] },
  { expr: "del(.a[0], .a[2])", input: { a: [1, 2, 3, 4] }, expected: [{ a: [2, 4] }] },
  { expr: "del(.a[] | select(. == 2))", input: { a: [1, 2, 3, 2] }, expected: [{ a: [1, 3] }] },
  { expr: "del(.x.y)", input: { a: 1 }, expected: [{ a: 1 }] },
  { expr: "del(.a[-1])", input: list, expected: [{ a: [1, 2] }] },
  { expr: ".a | del(.b)", input: { a: { b: 1, c: 2 } }, expected: [{ c: 2 }] },
])("evaluateYqAll() calls the function in $expr", ({ expr, input, expected }) => {
  expect(evaluateYqAll(input, expr)).toEqual([...expected]);
});

test.each([
  { expr: ".a | unique", input: { a: { x: 1 } }, message: 'Cannot evaluate yq expression ".a | unique": operator "unique" needs an array but got a map at column 6' },
  { expr: ".a | sort", input: {}, message: 'Cannot evaluate yq expression ".a | sort": operator "sort" needs an array but got null at column 6' },
  { expr: "keys", input: 1, message: 'Cannot evaluate yq expression "keys": operator "keys" needs a map or an array but got a number at column 1' },
  { expr: "has(0)", input: { a: 1 }, message: 'Cannot evaluate yq expression "has(0)": operator "has" cannot look up a number in a map at column 1' },
  { expr: "del(1)", input: {}, message: 'Cannot evaluate yq expression "del(1)": operator "del" needs a path, such as del(.a.b) at column 5' },
])("evaluateYqAll() refuses the function call $expr on the wrong type", ({ expr, input, message }) => {
  const error = expectYqError(() => evaluateYqAll(input, expr), message);
  expect(error.hint).toContain("see README");
});

/** The call node of an expression that is one function call. */
function callNode(expr: string): Extract<YqNode, { kind: "call" }> {
  const node = parseYq(expr);
  if (node.kind !== "call") throw new Error(`${expr} is not a call`);
  return node;
}

test("evaluateCall() evaluates its argument through the evaluator it is given", () => {
  const seen: unknown[] = [];
  const input = { value: { ok: true }, path: [] };
  const out = evaluateCall(callNode("select(.ok)"), input, {
    ctx: new EvalContext("select(.ok)", new YqBudget(null)),
    evaluate: (argument, item, ctx) => {
      seen.push(item.value);
      return evaluateNode(argument, item, ctx);
    },
  });
  expect(out).toEqual([input]);
  expect(seen).toEqual([{ ok: true }]);
});

test("evaluateCall() keeps the path of the input through del", () => {
  const ctx = new EvalContext("del(.a)", new YqBudget(null));
  expect(evaluateCall(callNode("del(.a)"), { value: { a: 1, b: 2 }, path: ["m"] }, { ctx, evaluate: evaluateNode })).toEqual([{ value: { b: 2 }, path: ["m"] }]);
});
