// The two steps of a path: `.key` / `[n]` picks one child, `[]` yields every child. Each child keeps its path
// when its parent had one, so that assignments and `del` can write back to where it came from.
import { excerpt } from "../errors.ts";
import type { EvalContext, EvalSite, Item, PathKey } from "./eval-context.ts";
import { describeYqType, getKey, isYqMap } from "./yq-value.ts";

/** `.key` or `[n]` on one item; null reads as null at any key, as in yq. */
export function indexItem(item: Item, key: PathKey, site: EvalSite): Item {
  const { value } = item;
  // Annotated, so that TypeScript narrows `value` after `ctx.fail()`, which never returns.
  const { pos } = site;
  const ctx: EvalContext = site.ctx;
  const childPath = (resolved: PathKey) => (item.path === undefined ? undefined : [...item.path, resolved]);
  if (value === null || value === undefined) return { value: null, path: childPath(key) };
  if (typeof key === "string") {
    if (!isYqMap(value)) ctx.fail(`cannot index ${describeYqType(value)} with "${excerpt(key, 40)}"`, pos);
    return { value: getKey(value, key), path: childPath(key) };
  }
  if (!Array.isArray(value)) ctx.fail(`cannot index ${describeYqType(value)} with number ${key}`, pos);
  // A negative index counts from the end; one that is still negative stays so, and assigning to it fails.
  const resolved = key < 0 && value.length + key >= 0 ? value.length + key : key;
  return { value: resolved >= 0 ? (value[resolved] ?? null) : null, path: childPath(resolved) };
}

/** `[]` on one item: the elements of a list or the values of a map; nothing for null. */
export function iterateItem(item: Item, site: EvalSite): Item[] {
  const { value, path } = item;
  const { ctx, pos } = site;
  const child = (key: PathKey, childValue: unknown): Item => ({ value: childValue ?? null, path: path === undefined ? undefined : [...path, key] });
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) {
    ctx.spend(value.length, pos);
    return value.map((element, index) => child(index, element));
  }
  if (isYqMap(value)) {
    const keys = Object.keys(value);
    ctx.spend(keys.length, pos);
    return keys.map((key) => child(key, value[key]));
  }
  return ctx.fail(`cannot iterate over ${describeYqType(value)}`, pos);
}
