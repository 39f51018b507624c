// `del(…)`: removes locations from a value without changing it.
import type { PathKey } from "./eval-context.ts";
import { defineKey, isYqMap, type YqMap } from "./yq-value.ts";

/** A copy of `value` without the locations in `paths` (all removed at once, so indices do not shift in between). */
export function deletePaths(value: unknown, paths: readonly (readonly PathKey[])[]): unknown {
  if (paths.some((path) => path.length === 0)) return null;
  // Grouped once, so that deleting every element of a long list stays linear.
  const byFirstKey = new Map<PathKey, (readonly PathKey[])[]>();
  for (const path of paths) {
    const group = byFirstKey.get(path[0]!);
    if (group === undefined) byFirstKey.set(path[0]!, [path]);
    else group.push(path);
  }
  const keep = (key: PathKey, child: unknown): { keep: boolean; value: unknown } => {
    const under = byFirstKey.get(key) ?? [];
    if (under.length === 0) return { keep: true, value: child };
    if (under.some((path) => path.length === 1)) return { keep: false, value: child };
    return { keep: true, value: deletePaths(child, under.map((path) => path.slice(1))) };
  };
  if (Array.isArray(value)) {
    return value.flatMap((child, index) => {
      const result = keep(index, child);
      return result.keep ? [result.value] : [];
    });
  }
  if (isYqMap(value)) {
    const out: YqMap = {};
    for (const key of Object.keys(value)) {
      const result = keep(key, value[key]);
      if (result.keep) defineKey(out, key, result.value);
    }
    return out;
  }
  return value;
}
