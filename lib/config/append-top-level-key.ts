// Adds one key to a config file's text by appending a line, for den's own additions to a den.yaml it just wrote (the
// pinned vmType): re-emitting the whole document through the yq path costs a parse and a stringify, seconds for a
// template with tens of thousands of entries. Only where the plain line is certain to mean the same thing: the
// document is a block mapping whose keys start at column 0, with no end marker ("...") and no such key already.
import { type Document, isMap, isScalar, stringify } from "yaml";

/** The text with `key: value` appended (the value as YAML writes a scalar), or undefined when only a full re-emit is safe. */
export function appendTopLevelKey(text: string, document: Document, entry: { key: string; value: string | number | boolean }): string | undefined {
  const contents = document.contents;
  if (!isMap(contents) || contents.flow || contents.items.length === 0) return undefined;
  if (contents.items.some((pair) => isScalar(pair.key) && pair.key.value === entry.key)) return undefined;
  if (/^\.\.\.(\s|$)/m.test(text)) return undefined;
  const firstKey = contents.items[0]?.key;
  const start = isScalar(firstKey) ? firstKey.range?.[0] : undefined;
  if (start === undefined || (start > 0 && text[start - 1] !== "\n")) return undefined;
  const separator = text === "" || text.endsWith("\n") ? "" : "\n";
  return `${text}${separator}${entry.key}: ${stringify(entry.value).trimEnd()}\n`;
}
