// Writes the result of a yq update back into the yaml Document it came from, touching only what changed,
// so comments, key order and quoting of everything else survive `--set` and the other edit flags.
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type Scalar, visit, type YAMLMap, type YAMLSeq } from "yaml";
import { getKey, isYqMap, type YqMap, yqEqual } from "./yq-value.ts";

export interface ReconcileValues {
  /** The document's value before the update (`document.toJS()`). */
  before: unknown;
  /** The value the document must hold afterwards. */
  after: unknown;
}

/**
 * A copy of `document` whose value is `values.after`. Unchanged nodes are kept as they are, changed scalars
 * are edited in place (keeping their comments), new keys go at the end of their map, and deleted keys and
 * items are removed. Aliases and merge keys can make an in-place edit show up elsewhere; the result is
 * checked, and when it is wrong the edit is retried with aliases expanded, then with the value rebuilt.
 */
export function reconcileDocument(document: Document, values: ReconcileValues): Document {
  const attempt = document.clone();
  attempt.contents = reconcileNode(attempt, attempt.contents, values.before, values.after) as never;
  if (holds(attempt, values.after)) return attempt;

  const expanded = document.clone();
  visit(expanded, {
    Alias(_key, node) {
      const target = node.resolve(expanded);
      if (target === undefined) return undefined;
      const copy = target.clone() as Node;
      // The copy must not define the anchor a second time.
      visit(copy, (_key, inner) => {
        if (isScalar(inner) || isMap(inner) || isSeq(inner)) inner.anchor = undefined;
      });
      if (isScalar(copy) || isMap(copy) || isSeq(copy)) copy.anchor = undefined;
      return copy;
    },
  });
  expanded.contents = reconcileNode(expanded, expanded.contents, values.before, values.after) as never;
  if (holds(expanded, values.after)) return expanded;

  const rebuilt = document.clone();
  rebuilt.contents = newNode(rebuilt, rebuilt.contents, values.after) as never;
  return rebuilt;
}

function holds(document: Document, value: unknown): boolean {
  try {
    return yqEqual(document.toJS() ?? null, value);
  } catch {
    return false;
  }
}

function reconcileNode(document: Document, node: unknown, before: unknown, after: unknown): unknown {
  if (yqEqual(before, after)) return node;
  if (isMap(node) && isYqMap(before) && isYqMap(after)) return reconcileMap(document, node, before, after);
  if (isSeq(node) && Array.isArray(before) && Array.isArray(after)) return reconcileSeq(document, node, before, after);
  if (isScalar(node) && (after === null || typeof after !== "object")) return updateScalar(node, after);
  return newNode(document, node, after);
}

function reconcileMap(document: Document, map: YAMLMap, before: YqMap, after: YqMap): unknown {
  const direct = new Set(map.items.map((pair) => keyText(pair.key)).filter((key) => key !== undefined));
  // Keys that come in through a merge key (`<<: *base`) live in another map. A changed one gets its own pair
  // here, which overrides the merged value; a deleted one cannot be expressed, so the map is rebuilt.
  const merged = new Set<string>();
  if (map.items.some((pair) => isMergeKey(pair.key))) {
    for (const key of Object.keys(before)) {
      if (direct.has(key)) continue;
      if (!Object.hasOwn(after, key)) return newNode(document, map, after);
      if (yqEqual(getKey(before, key), getKey(after, key))) merged.add(key);
    }
  }
  const seen = new Set<string>();
  map.items = map.items.filter((pair) => {
    const key = keyText(pair.key);
    if (key === undefined || seen.has(key)) return true;
    seen.add(key);
    if (!Object.hasOwn(after, key)) return false;
    pair.value = reconcileNode(document, pair.value, getKey(before, key), getKey(after, key)) as never;
    return true;
  });
  for (const key of Object.keys(after)) {
    if (seen.has(key) || merged.has(key)) continue;
    // `{}` that gains keys reads better in block style.
    if (map.flow && map.items.length === 0) map.flow = false;
    map.items.push(document.createPair(key, after[key], { aliasDuplicateObjects: false }));
  }
  return map;
}

/** yaml parses `<<` as a symbol-valued scalar when merge keys are on (den's YAML parse turns them on, as go-yaml has them). */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === "symbol";
}

/** The key as `toJS()` names it in a plain object; undefined for a key den leaves alone (merge key, map or list). */
function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  if (key.value === null || key.value === undefined) return "";
  return typeof key.value === "object" || typeof key.value === "symbol" ? undefined : String(key.value);
}

/** Items equal before and after keep their nodes (a longest common subsequence); the rest pair up in order. */
function reconcileSeq(document: Document, seq: YAMLSeq, before: unknown[], after: unknown[]): unknown {
  const oldItems = seq.items;
  if (oldItems.length !== before.length) return newNode(document, seq, after);
  const common: number[][] = Array.from({ length: before.length + 1 }, () => new Array<number>(after.length + 1).fill(0));
  const at = (i: number, j: number) => common[i]?.[j] ?? 0;
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      common[i]![j] = yqEqual(before[i], after[j]) ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const items: unknown[] = [];
  let pendingOld: number[] = [];
  let pendingNew: number[] = [];
  const flush = () => {
    pendingNew.forEach((newIndex, k) => {
      const oldIndex = pendingOld[k];
      items.push(
        oldIndex === undefined
          ? newNode(document, undefined, after[newIndex])
          : reconcileNode(document, oldItems[oldIndex], before[oldIndex], after[newIndex]),
      );
    });
    pendingOld = [];
    pendingNew = [];
  };
  let i = 0;
  let j = 0;
  while (i < before.length && j < after.length) {
    if (yqEqual(before[i], after[j]) && at(i, j) === at(i + 1, j + 1) + 1) {
      flush();
      items.push(oldItems[i]);
      i++;
      j++;
    } else if (at(i + 1, j) >= at(i, j + 1)) pendingOld.push(i++);
    else pendingNew.push(j++);
  }
  while (i < before.length) pendingOld.push(i++);
  while (j < after.length) pendingNew.push(j++);
  flush();
  // `[]` that gains items reads better in block style.
  if (seq.flow && oldItems.length === 0) seq.flow = false;
  seq.items = items;
  return seq;
}

function updateScalar(node: Scalar, after: unknown): Scalar {
  const sameType = node.value !== null && after !== null && typeof node.value === typeof after;
  node.value = after;
  // These describe the old value's spelling (`0x10`, `1.50`, `~`) and would misprint the new one.
  node.source = undefined;
  node.format = undefined;
  node.minFractionDigits = undefined;
  if (!sameType) {
    node.tag = undefined;
    if (typeof after !== "string") node.type = undefined;
  }
  return node;
}

/** A fresh node for `value`, taking over the comments of the node it replaces where they still read well. */
function newNode(document: Document, old: unknown, value: unknown): Node {
  const node = document.createNode(value, { aliasDuplicateObjects: false }) as Node;
  if (!(isScalar(old) || isMap(old) || isSeq(old) || isAlias(old)) || isAlias(node)) return node;
  if (old.spaceBefore) node.spaceBefore = true;
  const comments = [old.commentBefore, old.comment].filter((text) => typeof text === "string" && text !== "");
  const wasCollection = isMap(old) || isSeq(old);
  if (isMap(node) || isSeq(node)) {
    // yaml writes a collection's comment after its last item; a line comment (`key: 1 # why`) goes above instead.
    if (wasCollection) {
      node.commentBefore = old.commentBefore;
      node.comment = old.comment;
    } else if (comments.length > 0) node.commentBefore = comments.join("\n");
  } else if (!wasCollection) {
    node.commentBefore = old.commentBefore;
    node.comment = old.comment;
  } else if (comments.length > 0 && !comments.join("\n").includes("\n")) {
    // A one-line comment of a list or map that became a scalar stays on its line; longer ones described the
    // items that are gone.
    node.comment = comments.join("\n");
  }
  return node;
}
