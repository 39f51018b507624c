// The binary operators that work on two values rather than on paths: `+`, `==`, `!=`, `<`, `<=`, `>`, `>=`.
// `+` follows yq: numbers add, strings concatenate, arrays concatenate (a non-array on the right is appended),
// maps merge shallowly (right wins), and null on either side yields the other side.
import type { EvalSite } from "./eval-context.ts";
import type { YqBinaryOperator } from "./parse-yq.ts";
import { describeYqType, isYqMap, withKey, type YqMap, yqCompare, yqEqual } from "./yq-value.ts";

export interface CombineOptions extends EvalSite {
  operator: YqBinaryOperator;
}

/** `left OPERATOR right` for `+` and the comparisons. */
export function combineValues(left: unknown, right: unknown, options: CombineOptions): unknown {
  const { operator, ctx, pos } = options;
  switch (operator) {
    case "+":
      return addValues(left, right, options);
    case "==":
    case "!=":
      // Comparing walks both values.
      ctx.spend(Math.min(ctx.budget.measure(left).size, ctx.budget.measure(right).size), pos);
      return yqEqual(left, right) === (operator === "==");
    default: {
      const order = compareForOperator(left, right, options);
      if (operator === "<") return order < 0;
      if (operator === "<=") return order <= 0;
      if (operator === ">") return order > 0;
      return order >= 0;
    }
  }
}

/** `left + right`; also what `+=` adds. */
export function addValues(left: unknown, right: unknown, site: EvalSite): unknown {
  const { ctx, pos } = site;
  if (left === null || left === undefined) return right ?? null;
  if (right === null || right === undefined) return left;
  if (typeof left === "number" && typeof right === "number") return left + right;
  if (typeof left === "string" && typeof right === "string") return ctx.bounded(left + right, pos);
  if (Array.isArray(left)) {
    ctx.spend(left.length + (Array.isArray(right) ? right.length : 1), pos);
    return ctx.bounded(Array.isArray(right) ? [...left, ...right] : [...left, right], pos);
  }
  if (isYqMap(left) && isYqMap(right)) {
    const keys = Object.keys(right);
    ctx.spend((Object.keys(left).length + keys.length) * keys.length, pos);
    let merged: YqMap = left;
    for (const key of keys) merged = withKey(merged, key, right[key]);
    return ctx.bounded(merged, pos);
  }
  return ctx.fail(`operator "+" cannot add ${describeYqType(left)} and ${describeYqType(right)}`, pos);
}

/** Numbers with numbers, strings with strings; null sorts before everything. */
function compareForOperator(left: unknown, right: unknown, options: CombineOptions): number {
  const leftNull = left === null || left === undefined;
  const rightNull = right === null || right === undefined;
  if (leftNull || rightNull) return Number(!leftNull) - Number(!rightNull);
  if ((typeof left === "number" && typeof right === "number") || (typeof left === "string" && typeof right === "string")) {
    return yqCompare(left, right);
  }
  return options.ctx.fail(`operator "${options.operator}" cannot compare ${describeYqType(left)} with ${describeYqType(right)}`, options.pos);
}
