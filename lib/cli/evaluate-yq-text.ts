// `den yq` on YAML (or JSON) text, printed as yq prints: a result that is the whole document (`.`, `.a = 1`,
// `del(.b)`) is written back into the parsed document so that its comments and key order stay; any other result
// is printed on its own (strings bare, collections as YAML). The engine is the one `--set` uses (lib/yq/evaluate-yq.ts); it lives with the CLI because it also uses the configuration parser, which lib/yq must not import.
import { stringify } from "yaml";
import { parseConfigText } from "../config/parse.ts";
import { EvalContext } from "../yq/eval-context.ts";
import { evaluateNode } from "../yq/evaluate-node.ts";
import { parseYq } from "../yq/parse-yq.ts";
import { reconcileDocument } from "../yq/reconcile-document.ts";
import { YqBudget } from "../yq/yq-budget.ts";

export type YqOutputFormat = "yaml" | "json";

export interface YqTextOptions {
  format: YqOutputFormat;
  /** Spaces per level; 0 prints JSON on one line. yq's default is 2. */
  indent: number;
  /** File name for messages. */
  file?: string | undefined;
}

/** The printed results of `expr` on one document (`text` null: yq's --null-input, the document is `null`). */
export function evaluateYqText(text: string | null, expr: string, options: YqTextOptions): string {
  const ast = parseYq(expr);
  const parsed = text === null ? undefined : parseConfigText(text, { file: options.file });
  const value = parsed?.value ?? null;
  const items = evaluateNode(ast, { value, path: [] }, new EvalContext(expr, new YqBudget(value)));
  return items
    .map((item) => {
      const result = item.value ?? null;
      if (options.format === "json") return `${JSON.stringify(result, null, options.indent)}\n`;
      // A whole document whose own text exists keeps its comments and formatting.
      if (parsed !== undefined && item.path?.length === 0 && result !== null && typeof result === "object") {
        return reconcileDocument(parsed.document, { before: value, after: result }).toString({ lineWidth: 0, indent: yamlIndent(options.indent) });
      }
      return renderYamlValue(result, options.indent);
    })
    .join("");
}

/** One result as yq prints it in YAML: scalars bare on one line, collections as block YAML. */
export function renderYamlValue(value: unknown, indent = 2): string {
  if (value === null || value === undefined) return "null\n";
  if (typeof value === "string") return `${value}\n`;
  if (typeof value !== "object") return `${String(value)}\n`;
  return stringify(value, { lineWidth: 0, indent: yamlIndent(indent) });
}

// YAML needs at least one space per level; yq treats -I 0 as "compact" only for JSON.
function yamlIndent(indent: number): number {
  return Math.max(1, indent);
}
