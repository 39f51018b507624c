// The evaluator: walks a parsed expression (parse-yq.ts) over one input and yields its results. Paths
// (index-item.ts), value operators (combine-values.ts), writes (set-path.ts) and functions (evaluate-call.ts)
// live beside it; every step is counted and every built value measured through the EvalContext.
import { addValues, combineValues } from "./combine-values.ts";
import type { EvalContext, Item } from "./eval-context.ts";
import { evaluateCall } from "./evaluate-call.ts";
import { indexItem, iterateItem } from "./index-item.ts";
import type { YqNode } from "./parse-yq.ts";
import { getPath, setPath } from "./set-path.ts";
import { isYqTruthy, withKey, type YqMap } from "./yq-value.ts";

type BinaryNode = Extract<YqNode, { kind: "binary" }>;

/** Every result of `node` on `input`, in order. */
export function evaluateNode(node: YqNode, input: Item, ctx: EvalContext): Item[] {
  ctx.spend(1, node.pos);
  switch (node.kind) {
    case "identity":
      return [input];
    case "literal":
      return [{ value: node.value, path: undefined }];
    case "index":
      return evaluateNode(node.target, input, ctx).map((item) => indexItem(item, node.key, { ctx, pos: node.pos }));
    case "iterate":
      return evaluateNode(node.target, input, ctx).flatMap((item) => iterateItem(item, { ctx, pos: node.pos }));
    case "array":
      return [{ value: node.body === undefined ? [] : ctx.bounded(evaluateNode(node.body, input, ctx).map((item) => item.value), node.pos), path: undefined }];
    case "object":
      return buildObjects(node, input, ctx);
    case "binary":
      return evaluateBinary(node, input, ctx);
    case "call":
      return evaluateCall(node, input, { ctx, evaluate: evaluateNode });
  }
}

/** `{k: v, …}` yields one map per combination of the values' results, as yq does. */
function buildObjects(node: Extract<YqNode, { kind: "object" }>, input: Item, ctx: EvalContext): Item[] {
  let maps: YqMap[] = [{}];
  for (const entry of node.entries) {
    const values = evaluateNode(entry.value, input, ctx);
    // Each combination copies the map built so far.
    ctx.spend(maps.length * values.length * (Object.keys(maps[0] ?? {}).length + 1), node.pos);
    maps = maps.flatMap((map) => values.map((item) => withKey(map, entry.key, item.value)));
  }
  return maps.map((value) => ({ value: ctx.bounded(value, node.pos), path: undefined }));
}

function evaluateBinary(node: BinaryNode, input: Item, ctx: EvalContext): Item[] {
  const { operator, left, right, pos } = node;
  switch (operator) {
    case "|":
      return evaluateNode(left, input, ctx).flatMap((item) => evaluateNode(right, item, ctx));
    case ",":
      return [...evaluateNode(left, input, ctx), ...evaluateNode(right, input, ctx)];
    case "=":
    case "|=":
    case "+=":
      return [assign(node, input, ctx)];
    case "and":
    case "or": {
      const out: Item[] = [];
      for (const leftItem of evaluateNode(left, input, ctx)) {
        const decided = operator === "and" ? !isYqTruthy(leftItem.value) : isYqTruthy(leftItem.value);
        if (decided) out.push({ value: operator === "or", path: undefined });
        else for (const rightItem of evaluateNode(right, input, ctx)) out.push({ value: isYqTruthy(rightItem.value), path: undefined });
      }
      return out;
    }
    default: {
      const out: Item[] = [];
      const rightItems = evaluateNode(right, input, ctx);
      for (const leftItem of evaluateNode(left, input, ctx)) {
        for (const rightItem of rightItems) out.push({ value: combineValues(leftItem.value, rightItem.value, { operator, ctx, pos }), path: undefined });
      }
      return out;
    }
  }
}

/** `=`, `+=` and `|=`: yields the input with every path the left side names updated. */
function assign(node: BinaryNode, input: Item, ctx: EvalContext): Item {
  const paths = evaluateNode(node.left, { value: input.value, path: [] }, ctx).map((item) => {
    if (item.path === undefined) ctx.fail(`operator "${node.operator}" needs a path on its left, such as .a.b`, node.left.pos);
    return item.path;
  });
  const site = { ctx, pos: node.pos };
  let value = input.value;
  if (node.operator === "|=") {
    for (const path of paths) {
      const [result] = evaluateNode(node.right, { value: getPath(value, path), path: [...(input.path ?? []), ...path] }, ctx);
      if (result !== undefined) value = setPath(value, path, { ...site, newValue: result.value });
    }
    return { value: ctx.bounded(value, node.pos), path: input.path };
  }
  const [result] = evaluateNode(node.right, input, ctx);
  if (result === undefined) return input;
  for (const path of paths) {
    const next = node.operator === "+=" ? addValues(getPath(value, path), result.value, site) : result.value;
    value = setPath(value, path, { ...site, newValue: next });
  }
  return { value: ctx.bounded(value, node.pos), path: input.path };
}
