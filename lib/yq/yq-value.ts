// The JSON-like values den's yq subset works on (what yaml's `toJS()` returns): null, booleans, numbers,
// strings, arrays and plain objects. Equality, ordering, truth and type names are shared by the evaluator
// (evaluate-node.ts and the modules it calls) and by the document reconciler (reconcile-document.ts).

export type YqMap = Record<string, unknown>;

/** A plain object, i.e. a YAML mapping (arrays and null are not). */
export function isYqMap(value: unknown): value is YqMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The type as messages name it, with its article: "a map", "an array", "null". */
export function describeYqType(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "an array";
  if (isYqMap(value)) return "a map";
  return `a ${typeof value}`;
}

/** Deep structural equality; the key order of maps does not matter. */
export function yqEqual(a: unknown, b: unknown): boolean {
  const left = a ?? null;
  const right = b ?? null;
  if (left === right) return true;
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    return left.every((item, index) => yqEqual(item, right[index]));
  }
  if (isYqMap(left) && isYqMap(right)) {
    const keys = Object.keys(left);
    if (keys.length !== Object.keys(right).length) return false;
    return keys.every((key) => Object.hasOwn(right, key) && yqEqual(left[key], right[key]));
  }
  // NaN is the only value not equal to itself; YAML's `.nan` should still match `.nan`.
  return typeof left === "number" && typeof right === "number" && Number.isNaN(left) && Number.isNaN(right);
}

/** yq's truthiness: only false and null are false. */
export function isYqTruthy(value: unknown): boolean {
  return value !== false && value !== null && value !== undefined;
}

const typeRank = (value: unknown): number => {
  if (value === null || value === undefined) return 0;
  if (typeof value === "boolean") return 1;
  if (typeof value === "number") return 2;
  if (typeof value === "string") return 3;
  return Array.isArray(value) ? 4 : 5;
};

/** The order `sort` uses: null, booleans, numbers, strings, arrays, maps; collections by their JSON text. */
export function yqCompare(a: unknown, b: unknown): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return rank;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const left = typeof a === "string" ? a : JSON.stringify(a ?? null);
  const right = typeof b === "string" ? b : JSON.stringify(b ?? null);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * The key `unique` and `unique_by` group by. As in yq, a scalar counts by its text, so `null`, a missing
 * value and the string "null" fall together (Lima's `--network` relies on entries without `lima` collapsing).
 */
export function yqUniqueKey(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "object") return `\u0000${JSON.stringify(value)}`;
  return String(value);
}

/** The value under `key`, or null; own keys only, so "constructor" or "__proto__" never reach the prototype. */
export function getKey(map: YqMap, key: string): unknown {
  return Object.hasOwn(map, key) ? (map[key] ?? null) : null;
}

/** A copy of `map` with `key` set; `defineProperty` so a key such as "__proto__" stays an ordinary key. */
export function withKey(map: YqMap, key: string, value: unknown): YqMap {
  // Spreading defines own properties as well (it never calls the `__proto__` setter), and is far quicker than
  // defining each key.
  const copy: YqMap = { ...map };
  defineKey(copy, key, value);
  return copy;
}

export function defineKey(map: YqMap, key: string, value: unknown): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}
