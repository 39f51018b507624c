// The one error every stage of the yq engine throws (tokenizer, parser, evaluator), so a user sees the same
// shape whether the expression is misspelt or fails on the data: the expression, the reason, the column.
import { DenError, excerpt } from "../errors.ts";

/** The hint for an expression outside the subset; the subset itself is described in evaluate-yq.ts. */
export const YqSubsetHint = "den supports a subset of yq; see README";

export interface YqErrorOptions {
  /** 0-based offset into the expression; messages name it as a 1-based column. */
  pos: number;
  hint?: string;
}

/** The error for an expression den cannot parse or evaluate. */
export function yqExpressionError(expr: string, reason: string, options: YqErrorOptions): DenError {
  const column = options.pos + 1;
  return new DenError("YQ_EXPR", `Cannot evaluate yq expression "${excerpt(expr)}": ${reason} at column ${column}`, {
    hint: options.hint ?? YqSubsetHint,
    details: { expression: expr, column },
  });
}
