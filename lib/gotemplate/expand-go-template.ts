// Go text/template, the subset Lima's YAML fields use (mount locations, provision scripts, `message`,
// `list --format`). Hand-written because no npm library evaluates Go templates properly: the ones that
// exist are Handlebars-like look-alikes that differ on whitespace trimming, truthiness, pipelines with a
// final argument and map-key errors, and those differences change what ends up in a guest.
//
// Supported: text; actions `{{ … }}` with `{{- ` / ` -}}` trimming; comments `{{/* … */}}`; fields
// `.A.B`, `.`, `$`, `$x.A`, `(pipeline).A`; string ("…", `…`), char, number, bool and nil literals;
// pipelines with `|`; variables `$x := …` and `$x = …`; `if`/`else if`/`else`/`end`, `range` (lists,
// maps in key order, integers; `$i, $e :=`; `else`; `break`, `continue`), `with`/`else with`; the
// functions in template-functions.ts. Left out: `define`, `template`, `block`, methods, `call`, `slice`,
// `html`, `js`, `urlquery`.
//
// The stages: lex-template.ts (text → items) → parse-template.ts (items → tree) → execute-template.ts.
import { DenError } from "../errors.ts";
import { executeTemplate, type MissingKeyMode } from "./execute-template.ts";
import { lexTemplate } from "./lex-template.ts";
import { parseTemplate } from "./parse-template.ts";
import { TemplateFailure } from "./template-failure.ts";
import { GoTemplateFunctions } from "./template-functions.ts";

export interface GoTemplateOptions {
  /** What a missing map key does; `error` (the default, as for Lima's config fields) names the key. */
  missingKey?: MissingKeyMode;
  /** Where the template came from, e.g. `mounts[0].location`, used in messages. */
  name?: string;
}

const FunctionNames: ReadonlySet<string> = new Set(GoTemplateFunctions);

/**
 * Expands a Go text/template against `data`. Throws DenError("TEMPLATE_EXPR") with the line and column
 * for bad syntax, an unknown function or variable, or (by default) a field that names a missing map key.
 */
export function expandGoTemplate(text: string, data: Record<string, unknown>, options: GoTemplateOptions = {}): string {
  try {
    const tree = parseTemplate(lexTemplate(text), { functions: FunctionNames });
    return executeTemplate(tree, data, { missingKey: options.missingKey ?? "error" });
  } catch (error) {
    if (!(error instanceof TemplateFailure)) throw error;
    const { line, column } = lineAndColumn(text, error.pos);
    const where = text.includes("\n") ? `line ${line}, column ${column}` : `column ${column}`;
    const source = options.name === undefined ? "" : ` in ${options.name}`;
    throw new DenError("TEMPLATE_EXPR", `Cannot expand template${source} ${quoteTemplate(text, line)} at ${where}: ${error.message}`, {
      hint: error.hint ?? "see https://pkg.go.dev/text/template for the template syntax",
      details: { template: text, line, column, ...error.details },
    });
  }
}

function lineAndColumn(text: string, pos: number): { line: number; column: number } {
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  return { line, column: pos - (before.lastIndexOf("\n") + 1) + 1 };
}

/** The template as named in a message: whole when short, else the offending line. */
function quoteTemplate(text: string, line: number): string {
  const shown = text.includes("\n") ? (text.split("\n")[line - 1] ?? "") : text;
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
}
