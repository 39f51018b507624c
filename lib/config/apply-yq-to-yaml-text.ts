// `--set` and the other edit flags on a config file's text: den's YAML parse (parse.ts, with its positions and
// bounds) around the yq engine (lib/yq), which works on values and yaml Documents.
import { compileYqUpdate } from "../yq/compile-yq-update.ts";
import { reconcileDocument } from "../yq/reconcile-document.ts";
import { parseConfigText } from "./parse.ts";

/** Applies update expressions (joined as yq does with " | ") to YAML text and returns new YAML text.
 *  Comments, key order and formatting of every node the expressions did not change are preserved:
 *  evaluate on document.toJS(), then reconcile the yaml Document with the new value (keep unchanged nodes, replace
 *  changed scalars in place keeping their comments, add new keys at the end of maps, remove deleted keys/items). */
export function applyYqToYamlText(text: string, exprs: readonly string[], options: { file?: string } = {}): string {
  // Compiled first so a typo in an expression is reported before the YAML text is read.
  const update = compileYqUpdate(exprs);
  const { document, value } = parseConfigText(text, { file: options.file });
  const result = update(value);
  return reconcileDocument(document, { before: value, after: result }).toString({ lineWidth: 0, indentSeq: false });
}
