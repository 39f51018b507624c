// The state of one evaluation, which every part of the evaluator carries: the expression text for messages and
// the budget that bounds the work (yq-budget.ts).
import { type YqBudget, YqLimits } from "./yq-budget.ts";
import type { YqNode } from "./parse-yq.ts";
import { yqExpressionError } from "./yq-expression-error.ts";

export type PathKey = string | number;

/** One result: its value and, when it is a location in the input, the path to it (needed by assignments and `del`). */
export interface Item {
  value: unknown;
  path: readonly PathKey[] | undefined;
}

/** Where an operation runs: the evaluation and the offset in the expression that messages point at. */
export interface EvalSite {
  ctx: EvalContext;
  pos: number;
}

export type EvaluateNode = (node: YqNode, input: Item, ctx: EvalContext) => Item[];

const runtimeHint = "check the types of the values the expression reads; den supports a subset of yq, see README";
const limitHint = "den bounds what an expression may build; write the values out instead of generating them";

export class EvalContext {
  /** The expression text, quoted in error messages. */
  readonly expr: string;
  /** Shared by every expression of one call, so that chaining them cannot multiply the limits. */
  readonly budget: YqBudget;

  constructor(expr: string, budget: YqBudget) {
    this.expr = expr;
    this.budget = budget;
  }

  /** Fails the evaluation at `pos`; the default hint is about the types the expression met. */
  fail(reason: string, pos: number, hint = runtimeHint): never {
    throw yqExpressionError(this.expr, reason, { pos, hint });
  }

  /** Counts `units` of work against the budget; copying n elements costs n. */
  spend(units: number, pos: number): void {
    if (!this.budget.spend(units)) this.fail(`the expression needs more than ${YqLimits.steps} steps`, pos, limitHint);
  }

  /** Every value the expression builds is measured before it is used, so that none can grow without bound. */
  bounded<T>(value: T, pos: number): T {
    const { size, depth } = this.budget.measure(value);
    if (size > this.budget.maxSize) this.fail(`the result would grow by more than ${YqLimits.growth} items and characters`, pos, limitHint);
    if (depth > YqLimits.depth) this.fail(`the result would nest more than ${YqLimits.depth} levels deep`, pos, limitHint);
    return value;
  }
}
