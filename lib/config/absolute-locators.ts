// `den template copy` without --embed or --verbatim (Lima's UseAbsLocators): the copy keeps its `base:`
// and `file:` references, made absolute against where the template came from, so they still resolve
// from the copy's new place. Works on the yaml Document, so comments and layout are kept.
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { absoluteLocator } from "./embed.ts";
import { parseConfigText } from "./parse.ts";

export interface AbsoluteLocatorsOptions {
  /** Absolute locator the text was read from (`template:NAME`, URL, absolute path, `-`). */
  locator: string;
  /** File name used in syntax errors. */
  file?: string;
}

export function useAbsoluteLocators(text: string, options: AbsoluteLocatorsOptions): string {
  const { document } = parseConfigText(text, { file: options.file ?? options.locator });
  const root = document.contents;
  if (!isMap(root)) return text;
  let changed = false;
  const rewrite = (node: unknown): void => {
    const target = isMap(node) ? node.get("url", true) : node;
    if (!isScalar(target) || typeof target.value !== "string" || target.value === "") return;
    const absolute = absoluteLocator(target.value, options.locator);
    if (absolute === target.value) return;
    target.value = absolute;
    changed = true;
  };
  const base = root.get("base", true) as Node | undefined;
  if (isSeq(base)) base.items.forEach(rewrite);
  else if (base !== undefined) {
    if (isScalar(base) && base.value !== null) rewrite(base);
    else if (isMap(base)) rewrite(base);
  }
  for (const list of ["provision", "probes"]) {
    const seq = root.get(list, true);
    if (!isSeq(seq)) continue;
    for (const entry of seq.items) {
      if (isMap(entry)) rewrite(entry.get("file", true));
    }
  }
  // Untouched text is returned as it was, byte for byte.
  return changed ? document.toString({ lineWidth: 0, indentSeq: false }) : text;
}
