// Template data as Go sees it: type names, fmt's `%v`, truth and comparison. Data reaches den's templates
// as JSON-like values (YAML, zod output), so a JS object stands for a Go map and an integral number for an int.

export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The Go type name a value would have in Lima, for messages such as `%!d(string=x)`. */
export function goTypeName(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float64";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "[]interface {}";
  if (isMap(value)) return "map[string]interface {}";
  return typeof value;
}

/**
 * Go's `%v` for a float64 is the shortest `%g`: exponent form below 1e-4 and from 1e6 up. Integral
 * numbers print as Go ints, because YAML integers reach Lima's templates as ints.
 */
function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  const [mantissa, expText] = value.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(value);
}

/** fmt's `%v`. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "number") return formatNumber(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(" ")}]`;
  if (isMap(value)) return formatMap(value, formatValue);
  return String(value);
}

/**
 * A map's keys in Go's order, which compares strings byte by byte in UTF-8: the order of code points.
 * JS's default sort compares UTF-16 units, which puts U+10000 and up before U+E000–U+FFFF.
 */
export function sortedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).sort(compareCodePoints);
}

function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}

/** A map as fmt prints it: keys sorted, each entry `key:value`. */
export function formatMap(value: Record<string, unknown>, formatEntry: (entry: unknown) => string): string {
  const keys = sortedKeys(value);
  return `map[${keys.map((key) => `${key}:${formatEntry(value[key])}`).join(" ")}]`;
}

/** Go's `truth`: false, 0, "", nil and empty lists and maps are false. */
export function isTrue(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (isMap(value)) return Object.keys(value).length > 0;
  return true;
}

function basicKind(value: unknown): "nil" | "string" | "number" | "bool" | "other" {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "bool";
  return "other";
}

/** Go's `eq` for two values: nil equals only nil; lists and maps cannot be compared. */
export function equal(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === "nil" || kb === "nil") return ka === kb;
  if (ka === "other" || kb === "other") throw new Error(`non-comparable type ${goTypeName(ka === "other" ? a : b)}`);
  if (ka !== kb) throw new Error("incompatible types for comparison");
  return a === b;
}

/** Go's `lt`: only strings and numbers are ordered, each with its own kind. */
export function less(a: unknown, b: unknown): boolean {
  for (const value of [a, b]) {
    const kind = basicKind(value);
    if (kind !== "string" && kind !== "number") throw new Error(`invalid type for comparison: ${goTypeName(value)}`);
  }
  if (basicKind(a) !== basicKind(b)) throw new Error("incompatible types for comparison");
  return (a as number | string) < (b as number | string);
}
