// The functions of the subset: `select`, `not`, `length`, `keys`, `has`, `map`, `sort`, `unique`, `unique_by`
// and `del`. Their argument is an expression, evaluated through `evaluate` (the evaluator passes itself in, so
// this module does not import it back).
import { deletePaths } from "./delete-paths.ts";
import type { EvalContext, EvaluateNode, Item } from "./eval-context.ts";
import { iterateItem } from "./index-item.ts";
import type { YqNode } from "./parse-yq.ts";
import { describeYqType, isYqMap, isYqTruthy, yqCompare, yqUniqueKey } from "./yq-value.ts";

type CallNode = Extract<YqNode, { kind: "call" }>;

export interface CallOptions {
  ctx: EvalContext;
  /** Evaluates the argument expression. */
  evaluate: EvaluateNode;
}

/** The results of one function call on one input. */
export function evaluateCall(node: CallNode, input: Item, options: CallOptions): Item[] {
  // Annotated, so that TypeScript narrows after `ctx.fail()`, which never returns.
  const { evaluate } = options;
  const ctx: EvalContext = options.ctx;
  const { value } = input;
  const result = (out: unknown): Item[] => [{ value: out, path: undefined }];
  const argument = node.argument ?? { kind: "identity", pos: node.pos };
  const needArray = (): unknown[] => {
    if (Array.isArray(value)) return value;
    return ctx.fail(`operator "${node.name}" needs an array but got ${describeYqType(value)}`, node.pos);
  };
  switch (node.name) {
    case "select":
      return evaluate(argument, input, ctx).some((item) => isYqTruthy(item.value)) ? [input] : [];
    case "not":
      return result(!isYqTruthy(value));
    case "length":
      if (value === null || value === undefined) return result(0);
      if (Array.isArray(value)) return result(value.length);
      if (isYqMap(value)) return result(Object.keys(value).length);
      // yq measures any other scalar by its text.
      return result(String(value).length);
    case "keys":
      if (Array.isArray(value)) return result(value.map((_, index) => index));
      if (isYqMap(value)) return result(Object.keys(value));
      return ctx.fail(`operator "keys" needs a map or an array but got ${describeYqType(value)}`, node.pos);
    case "has":
      return evaluate(argument, input, ctx).map((item) => {
        const key = item.value;
        if (value === null || value === undefined) return { value: false, path: undefined };
        if (isYqMap(value) && typeof key === "string") return { value: Object.hasOwn(value, key), path: undefined };
        if (Array.isArray(value) && typeof key === "number") {
          const index = key < 0 ? value.length + key : key;
          return { value: Number.isInteger(index) && index >= 0 && index < value.length, path: undefined };
        }
        return ctx.fail(`operator "has" cannot look up ${describeYqType(key)} in ${describeYqType(value)}`, node.pos);
      });
    case "map": {
      if (value === null || value === undefined) return result([]);
      const elements = iterateItem({ value, path: undefined }, { ctx, pos: node.pos });
      return result(ctx.bounded(elements.flatMap((element) => evaluate(argument, element, ctx).map((item) => item.value)), node.pos));
    }
    case "sort": {
      const array = needArray();
      // Comparisons of lists and maps compare their JSON text.
      ctx.spend(array.length * Math.ceil(Math.log2(array.length + 1)) + ctx.budget.measure(array).size, node.pos);
      return result([...array].sort(yqCompare));
    }
    case "unique":
    case "unique_by": {
      const seen = new Set<string>();
      const out: unknown[] = [];
      // Each element is keyed by its JSON text.
      ctx.spend(ctx.budget.measure(value).size, node.pos);
      for (const [index, element] of needArray().entries()) {
        const [keyItem] = evaluate(argument, { value: element ?? null, path: [...(input.path ?? []), index] }, ctx);
        const key = yqUniqueKey(keyItem?.value ?? null);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(element);
      }
      return result(out);
    }
    case "del": {
      const paths = evaluate(argument, { value, path: [] }, ctx).map((item) => {
        if (item.path === undefined) ctx.fail('operator "del" needs a path, such as del(.a.b)', argument.pos);
        return item.path;
      });
      return [{ value: deletePaths(value, paths), path: input.path }];
    }
  }
}
