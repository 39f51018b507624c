// Update expressions, as `--set` and the other edit flags give them: several expressions that together must turn
// one document into one document.
import { DenError, excerpt } from "../errors.ts";
import { EvalContext } from "./eval-context.ts";
import { evaluateNode } from "./evaluate-node.ts";
import { parseYq } from "./parse-yq.ts";
import { YqBudget } from "./yq-budget.ts";

/** Turns a document's value into its updated value. */
export type YqUpdate = (value: unknown) => unknown;

/**
 * Parses update expressions (joined as yq does with " | ") into one update. Every expression is parsed here,
 * before any input is read, so a typo in the last one is reported before anything is evaluated.
 */
export function compileYqUpdate(exprs: readonly string[]): YqUpdate {
  const asts = exprs.map((expr) => ({ expr, ast: parseYq(expr) }));
  return (value) => {
    const budget = new YqBudget(value);
    // Evaluating one expression after another over every result is exactly what joining them with " | " means,
    // and keeps error messages quoting the expression the user wrote.
    let results: unknown[] = [value];
    for (const { expr, ast } of asts) {
      const ctx = new EvalContext(expr, budget);
      results = results.flatMap((input) => evaluateNode(ast, { value: input, path: [] }, ctx).map((item) => item.value ?? null));
    }
    if (results.length !== 1) {
      throw new DenError("YQ_EXPR", `Cannot apply yq expression "${excerpt(exprs.join(" | "))}": it yields ${results.length} documents instead of one`, {
        hint: "an update expression must produce the whole document, e.g. `.a = 1` rather than `.a`",
      });
    }
    return results[0];
  };
}
