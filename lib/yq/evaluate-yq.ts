// den's yq v4 subset, used by `--set` and the other edit flags (Lima turns them into yq expressions),
// `den list --yq`, `den template yq` and the guest agent's `provision: mode: yq`. It is hand-written because no
// maintained npm library implements yq's language (jq implementations do not fit: jq binds `,` and `|` the other
// way round, so the same text means something else there). The stages: tokenize-yq.ts → parse-yq.ts →
// evaluate-node.ts; compile-yq-update.ts chains update expressions, and reconcile-document.ts writes a result back
// into the YAML document so that untouched comments and formatting stay. The engine works on values and yaml
// Documents; reading YAML text is the caller's (den's config files: lib/config/apply-yq-to-yaml-text.ts).
//
// The subset, exactly:
// - paths: `.`, `.a.b`, `.a[0]`, `.a[-1]` (from the end), `.a["k"]`, `.["k"]`, `.a[]` (every element or value)
// - operators: `=`, `+=`, `|=`, `+`, `|` (pipe), `,` (several results), `( … )`
// - `+`: numbers add, strings concatenate, arrays concatenate (a non-array on the right is appended),
//   maps merge shallowly (right wins), null on either side yields the other side
// - `select(…)` with `==`, `!=`, `<`, `<=`, `>`, `>=`, `and`, `or`, and `not` as a postfix filter (`… | not`)
// - functions: `unique`, `unique_by(expr)`, `del(path)`, `length`, `keys`, `has("k")` / `has(0)`, `map(expr)`, `sort`
// - literals: numbers, double-quoted strings with JSON escapes, `true`, `false`, `null`, arrays `[a, b]`,
//   objects `{"k": v, k2: v}`; single-quoted strings do not exist in yq and are rejected
// - refused with YQ_EXPR: `env`, `strenv`, `load`, `load_str`, `system` (they read the host's environment,
//   files or commands; Lima's yq disables them too), every other yq operator and function, and operator characters such as `-`, `*`, `//`
// - bounded (yq-budget.ts): an assignment may reach at most 1024 past the end of a list, a built value may grow
//   by at most 2^20 items and characters beyond the input and nest 1000 deep, one call takes at most 10^7 steps,
//   and the expression nests at most 1000 deep (parse-yq.ts); beyond these den refuses with YQ_EXPR
//
// Semantics follow yq v4: `.a.b = X` creates missing maps (and arrays for numeric indices) on the way; the
// right side of `=` and `+=` is evaluated against the input document (`.a = .b` copies), the right side of
// `|=` against the current value at each path; an assignment yields the whole updated input, so
// `.a = 1 | .b = 2` chains; `.a[] = 1` sets every element and is a no-op when `.a` is null; `+=` on a
// missing path treats it as null, so `.dns += ["1.1.1.1"]` creates the list.
import { EvalContext } from "./eval-context.ts";
import { evaluateNode } from "./evaluate-node.ts";
import { parseYq } from "./parse-yq.ts";
import { YqBudget } from "./yq-budget.ts";

/** Evaluates an expression against a plain JSON-like value; returns the results (yq may yield several). */
export function evaluateYqAll(value: unknown, expr: string): unknown[] {
  const ast = parseYq(expr);
  return evaluateNode(ast, { value: value ?? null, path: [] }, new EvalContext(expr, new YqBudget(value))).map((item) => item.value ?? null);
}

/** The single result (first one; undefined→null). Used by `den list --yq` and `den template yq`. */
export function evaluateYq(value: unknown, expr: string): unknown {
  return evaluateYqAll(value, expr)[0] ?? null;
}
