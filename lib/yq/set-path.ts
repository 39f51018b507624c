// Reading and writing a value at a path, for the assignments (`=`, `+=`, `|=`). Writing copies along the path
// and never changes its input, and creates what is missing on the way as yq does: maps for string keys,
// lists (padded with nulls) for numeric ones.
import { excerpt } from "../errors.ts";
import type { EvalSite, PathKey } from "./eval-context.ts";
import { YqLimits } from "./yq-budget.ts";
import { describeYqType, getKey, isYqMap, withKey, type YqMap } from "./yq-value.ts";

export interface SetPathOptions extends EvalSite {
  /** The value to put at the path. */
  newValue: unknown;
}

/** The value at `path`, or null where the path leaves the value. */
export function getPath(value: unknown, path: readonly PathKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === "number") current = Array.isArray(current) && key >= 0 ? (current[key] ?? null) : null;
    else current = isYqMap(current) ? getKey(current, key) : null;
  }
  return current ?? null;
}

/** A copy of `value` with `path` set to `options.newValue`, creating maps (string keys) and arrays (numeric keys) where null. */
export function setPath(value: unknown, path: readonly PathKey[], options: SetPathOptions): unknown {
  const { ctx, pos } = options;
  const [key, ...rest] = path;
  if (key === undefined) return options.newValue;
  const empty = value === null || value === undefined;
  if (typeof key === "number") {
    if (!empty && !Array.isArray(value)) ctx.fail(`cannot set index ${key} of ${describeYqType(value)}`, pos);
    if (key < 0) ctx.fail(`cannot set index ${key}: it is out of range`, pos);
    const length = Array.isArray(value) ? value.length : 0;
    // yq pads a list with nulls up to the index; a huge index (`.images[99999999]`) would allocate gigabytes.
    if (key > length + YqLimits.indexGap) {
      ctx.fail(`cannot set index ${key}: it is more than ${YqLimits.indexGap} past the end of the list (length ${length})`, pos, "to append, use an index up to the list's length or `+= [item]`");
    }
    ctx.spend(Math.max(length, key + 1), pos);
    const array: unknown[] = Array.isArray(value) ? [...value] : [];
    while (array.length < key) array.push(null);
    array[key] = setPath(array[key] ?? null, rest, options);
    return array;
  }
  if (!empty && !isYqMap(value)) ctx.fail(`cannot set key "${excerpt(key, 40)}" of ${describeYqType(value)}`, pos);
  const map: YqMap = isYqMap(value) ? value : {};
  ctx.spend(Object.keys(map).length + 1, pos);
  return withKey(map, key, setPath(getKey(map, key), rest, options));
}
