// Issue path → position in the YAML text, so a schema or cross-field problem prints as `file:line:col`.
import { isAlias, isMap, isPair, isScalar, isSeq, type Node, type Pair } from "yaml";
import type { ParsedConfig } from "./parse.ts";

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface LocateOptions {
  /**
   * `"key"` points at the last path element's key rather than its value (for an unknown key,
   * where the key itself is the mistake).
   */
  at?: "key" | "value";
}

/**
 * Where the node at `path` starts. When the node is missing (a required key not written), the nearest
 * existing parent is returned; a key with an empty value points at the key. `undefined` only when the
 * document is empty.
 */
export function locateNode(parsed: ParsedConfig, path: readonly (string | number)[], options: LocateOptions = {}): Position | undefined {
  const { document, lineCounter } = parsed;
  let node = resolve(parsed, document.contents as Node | null);
  let offset = start(node);

  for (const [index, part] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => keyMatches(item, part));
      if (!pair) break;
      const keyOffset = start(pair.key as Node | null);
      if (last && options.at === "key" && keyOffset !== undefined) {
        offset = keyOffset;
        break;
      }
      node = resolve(parsed, pair.value as Node | null);
      // `memory:` with nothing after it: the empty value sits after the colon; the key reads better.
      offset = (isEmptyScalar(node) ? keyOffset : start(node)) ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof part === "number") {
      const item = node.items[part] as Node | undefined;
      if (item === undefined) break;
      node = resolve(parsed, item);
      offset = start(node) ?? offset;
    } else {
      break;
    }
  }
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function keyMatches(pair: Pair, part: string | number): boolean {
  const key: unknown = isScalar(pair.key) ? pair.key.value : pair.key;
  return key !== null && key !== undefined && String(key) === String(part);
}

/** Follows `*alias` to its anchored node, so paths through merged anchors still resolve. */
function resolve(parsed: ParsedConfig, node: Node | null): Node | null {
  if (isAlias(node)) return (node.resolve(parsed.document) as Node | undefined) ?? node;
  return node;
}

function isEmptyScalar(node: Node | null): boolean {
  return isScalar(node) && node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
}

function start(node: Node | null | undefined): number | undefined {
  if (!node || isPair(node)) return undefined;
  return node.range?.[0];
}
