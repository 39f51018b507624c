// den's yq v4 subset, used by `--set` and the other edit flags (Lima turns them into yq expressions),
// `den list --yq` and `den template yq`. It is hand-written because no maintained npm library implements
// yq's language (jq implementations do not fit: jq binds `,` and `|` the other way round, so the same text
// means something else there). This file evaluates; yq-parse.ts parses; yq-document.ts writes the result back
// into the YAML document so that untouched comments and formatting stay.
//
// The subset, exactly:
// - paths: `.`, `.a.b`, `.a[0]`, `.a[-1]` (from the end), `.a["k"]`, `.["k"]`, `.a[]` (every element or value)
// - operators: `=`, `+=`, `|=`, `+`, `|` (pipe), `,` (several results), `( … )`
// - `+`: numbers add, strings concatenate, arrays concatenate (a non-array on the right is appended),
//   maps merge shallowly (right wins), null on either side yields the other side
// - `select(…)` with `==`, `!=`, `<`, `<=`, `>`, `>=`, `and`, `or`, and `not` as a postfix filter (`… | not`)
// - functions: `unique`, `unique_by(expr)`, `del(path)`, `length`, `keys`, `has("k")` / `has(0)`, `map(expr)`, `sort`
// - literals: numbers, double-quoted strings with JSON escapes, `true`, `false`, `null`, arrays `[a, b]`,
//   objects `{"k": v, k2: v}`; single-quoted strings do not exist in yq and are rejected
// - refused with YQ_EXPR: `env`, `strenv`, `load`, `load_str`, `system` (they read the host's environment,
//   files or commands; Lima's yq disables them too), every other yq operator and function, and operator characters such as `-`, `*`, `//`
//
// Semantics follow yq v4: `.a.b = X` creates missing maps (and arrays for numeric indices) on the way; the
// right side of `=` and `+=` is evaluated against the input document (`.a = .b` copies), the right side of
// `|=` against the current value at each path; an assignment yields the whole updated input, so
// `.a = 1 | .b = 2` chains; `.a[] = 1` sets every element and is a no-op when `.a` is null; `+=` on a
// missing path treats it as null, so `.dns += ["1.1.1.1"]` creates the list.
import { DenError } from "../errors.ts";
import { parseConfigText } from "./parse.ts";
import { reconcileDocument } from "./yq-document.ts";
import { parseYq, type YqBinaryOperator, type YqNode, yqExpressionError } from "./yq-parse.ts";
import {
  describeYqType,
  getKey,
  isYqMap,
  withKey,
  type YqMap,
  yqCompare,
  yqEqual,
  yqUniqueKey,
} from "./yq-value.ts";

type PathKey = string | number;

/** One result: its value and, when it is a location in the input, the path to it (needed by assignments and `del`). */
interface Item {
  value: unknown;
  path: readonly PathKey[] | undefined;
}

interface EvalContext {
  /** The expression text, quoted in error messages. */
  expr: string;
}

const runtimeHint = "check the types of the values the expression reads; den supports a subset of yq, see README";

/** Evaluates an expression against a plain JSON-like value; returns the results (yq may yield several). */
export function evaluateYqAll(value: unknown, expr: string): unknown[] {
  const ast = parseYq(expr);
  return evaluate(ast, { value: value ?? null, path: [] }, { expr }).map((item) => item.value ?? null);
}

/** The single result (first one; undefined→null). Used by `den list --yq` and `den template yq`. */
export function evaluateYq(value: unknown, expr: string): unknown {
  return evaluateYqAll(value, expr)[0] ?? null;
}

/** Applies update expressions (joined as yq does with " | ") to YAML text and returns new YAML text.
 *  Comments, key order and formatting of every node the expressions did not change are preserved:
 *  evaluate on document.toJS(), then reconcile the yaml Document with the new value (keep unchanged nodes, replace
 *  changed scalars in place keeping their comments, add new keys at the end of maps, remove deleted keys/items). */
export function applyYqToYamlText(text: string, exprs: readonly string[], options: { file?: string } = {}): string {
  // Parse all first so a typo in the last expression is reported before anything is evaluated.
  const asts = exprs.map((expr) => ({ expr, ast: parseYq(expr) }));
  const { document, value } = parseConfigText(text, { file: options.file });
  // Evaluating one expression after another over every result is exactly what joining them with " | " means,
  // and keeps error messages quoting the expression the user wrote.
  let results: unknown[] = [value];
  for (const { expr, ast } of asts) {
    results = results.flatMap((input) => evaluate(ast, { value: input, path: [] }, { expr }).map((item) => item.value ?? null));
  }
  const [result] = results;
  if (results.length !== 1) {
    throw new DenError("YQ_EXPR", `Cannot apply yq expression "${exprs.join(" | ")}": it yields ${results.length} documents instead of one`, {
      hint: "an update expression must produce the whole document, e.g. `.a = 1` rather than `.a`",
    });
  }
  return reconcileDocument(document, { before: value, after: result }).toString({ lineWidth: 0, indentSeq: false });
}

function fail(ctx: EvalContext, reason: string, pos: number): never {
  throw yqExpressionError(ctx.expr, reason, pos, runtimeHint);
}

function evaluate(node: YqNode, input: Item, ctx: EvalContext): Item[] {
  switch (node.kind) {
    case "identity":
      return [input];
    case "literal":
      return [{ value: node.value, path: undefined }];
    case "index":
      return evaluate(node.target, input, ctx).map((item) => indexItem(item, node.key, node.pos, ctx));
    case "iterate":
      return evaluate(node.target, input, ctx).flatMap((item) => iterateItem(item, node.pos, ctx));
    case "array":
      return [{ value: node.body === undefined ? [] : evaluate(node.body, input, ctx).map((item) => item.value), path: undefined }];
    case "object":
      return buildObjects(node.entries, input, ctx);
    case "binary":
      return evaluateBinary(node, input, ctx);
    case "call":
      return evaluateCall(node, input, ctx);
  }
}

function indexItem(item: Item, key: PathKey, pos: number, ctx: EvalContext): Item {
  const { value } = item;
  const childPath = (resolved: PathKey) => (item.path === undefined ? undefined : [...item.path, resolved]);
  if (value === null || value === undefined) return { value: null, path: childPath(key) };
  if (typeof key === "string") {
    if (!isYqMap(value)) fail(ctx, `cannot index ${describeYqType(value)} with "${key}"`, pos);
    return { value: getKey(value, key), path: childPath(key) };
  }
  if (!Array.isArray(value)) fail(ctx, `cannot index ${describeYqType(value)} with number ${key}`, pos);
  // A negative index counts from the end; one that is still negative stays so, and assigning to it fails.
  const resolved = key < 0 && value.length + key >= 0 ? value.length + key : key;
  return { value: resolved >= 0 ? (value[resolved] ?? null) : null, path: childPath(resolved) };
}

function iterateItem(item: Item, pos: number, ctx: EvalContext): Item[] {
  const { value, path } = item;
  const child = (key: PathKey, childValue: unknown): Item => ({ value: childValue ?? null, path: path === undefined ? undefined : [...path, key] });
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map((element, index) => child(index, element));
  if (isYqMap(value)) return Object.keys(value).map((key) => child(key, value[key]));
  return fail(ctx, `cannot iterate over ${describeYqType(value)}`, pos);
}

/** `{k: v, …}` yields one map per combination of the values' results, as yq does. */
function buildObjects(entries: readonly { key: string; value: YqNode }[], input: Item, ctx: EvalContext): Item[] {
  let maps: YqMap[] = [{}];
  for (const entry of entries) {
    const values = evaluate(entry.value, input, ctx);
    maps = maps.flatMap((map) => values.map((item) => withKey(map, entry.key, item.value)));
  }
  return maps.map((value) => ({ value, path: undefined }));
}

function evaluateBinary(node: Extract<YqNode, { kind: "binary" }>, input: Item, ctx: EvalContext): Item[] {
  const { operator, left, right, pos } = node;
  switch (operator) {
    case "|":
      return evaluate(left, input, ctx).flatMap((item) => evaluate(right, item, ctx));
    case ",":
      return [...evaluate(left, input, ctx), ...evaluate(right, input, ctx)];
    case "=":
    case "|=":
    case "+=":
      return [assign(node, input, ctx)];
    case "and":
    case "or": {
      const out: Item[] = [];
      for (const leftItem of evaluate(left, input, ctx)) {
        const decided = operator === "and" ? !isTruthy(leftItem.value) : isTruthy(leftItem.value);
        if (decided) out.push({ value: operator === "or", path: undefined });
        else for (const rightItem of evaluate(right, input, ctx)) out.push({ value: isTruthy(rightItem.value), path: undefined });
      }
      return out;
    }
    default: {
      const out: Item[] = [];
      const rightItems = evaluate(right, input, ctx);
      for (const leftItem of evaluate(left, input, ctx)) {
        for (const rightItem of rightItems) out.push({ value: combine(operator, leftItem.value, rightItem.value, pos, ctx), path: undefined });
      }
      return out;
    }
  }
}

function combine(operator: YqBinaryOperator, left: unknown, right: unknown, pos: number, ctx: EvalContext): unknown {
  switch (operator) {
    case "+":
      return add(left, right, pos, ctx);
    case "==":
      return yqEqual(left, right);
    case "!=":
      return !yqEqual(left, right);
    default: {
      const order = compareForOperator(operator, left, right, pos, ctx);
      if (operator === "<") return order < 0;
      if (operator === "<=") return order <= 0;
      if (operator === ">") return order > 0;
      return order >= 0;
    }
  }
}

function add(left: unknown, right: unknown, pos: number, ctx: EvalContext): unknown {
  if (left === null || left === undefined) return right ?? null;
  if (right === null || right === undefined) return left;
  if (typeof left === "number" && typeof right === "number") return left + right;
  if (typeof left === "string" && typeof right === "string") return left + right;
  if (Array.isArray(left)) return Array.isArray(right) ? [...left, ...right] : [...left, right];
  if (isYqMap(left) && isYqMap(right)) {
    let merged: YqMap = left;
    for (const key of Object.keys(right)) merged = withKey(merged, key, right[key]);
    return merged;
  }
  return fail(ctx, `operator "+" cannot add ${describeYqType(left)} and ${describeYqType(right)}`, pos);
}

/** Numbers with numbers, strings with strings; null sorts before everything. */
function compareForOperator(operator: string, left: unknown, right: unknown, pos: number, ctx: EvalContext): number {
  const leftNull = left === null || left === undefined;
  const rightNull = right === null || right === undefined;
  if (leftNull || rightNull) return Number(!leftNull) - Number(!rightNull);
  if ((typeof left === "number" && typeof right === "number") || (typeof left === "string" && typeof right === "string")) {
    return yqCompare(left, right);
  }
  return fail(ctx, `operator "${operator}" cannot compare ${describeYqType(left)} with ${describeYqType(right)}`, pos);
}

/** yq's truthiness: only false and null are false. */
function isTruthy(value: unknown): boolean {
  return value !== false && value !== null && value !== undefined;
}

/** `=`, `+=` and `|=`: yields the input with every path the left side names updated. */
function assign(node: Extract<YqNode, { kind: "binary" }>, input: Item, ctx: EvalContext): Item {
  const paths = evaluate(node.left, { value: input.value, path: [] }, ctx).map((item) => {
    if (item.path === undefined) fail(ctx, `operator "${node.operator}" needs a path on its left, such as .a.b`, node.left.pos);
    return item.path;
  });
  let value = input.value;
  if (node.operator === "|=") {
    for (const path of paths) {
      const [result] = evaluate(node.right, { value: getIn(value, path), path: [...(input.path ?? []), ...path] }, ctx);
      if (result !== undefined) value = setIn(value, path, result.value, { pos: node.pos, ctx });
    }
    return { value, path: input.path };
  }
  const [result] = evaluate(node.right, input, ctx);
  if (result === undefined) return input;
  for (const path of paths) {
    const next = node.operator === "+=" ? add(getIn(value, path), result.value, node.pos, ctx) : result.value;
    value = setIn(value, path, next, { pos: node.pos, ctx });
  }
  return { value, path: input.path };
}

function getIn(value: unknown, path: readonly PathKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === "number") current = Array.isArray(current) && key >= 0 ? (current[key] ?? null) : null;
    else current = isYqMap(current) ? getKey(current, key) : null;
  }
  return current ?? null;
}

/** A copy of `value` with `path` set, creating maps (string keys) and arrays (numeric keys) where null. */
function setIn(value: unknown, path: readonly PathKey[], newValue: unknown, where: { pos: number; ctx: EvalContext }): unknown {
  const [key, ...rest] = path;
  if (key === undefined) return newValue;
  const empty = value === null || value === undefined;
  if (typeof key === "number") {
    if (!empty && !Array.isArray(value)) fail(where.ctx, `cannot set index ${key} of ${describeYqType(value)}`, where.pos);
    if (key < 0) fail(where.ctx, `cannot set index ${key}: it is out of range`, where.pos);
    const array: unknown[] = Array.isArray(value) ? [...value] : [];
    while (array.length < key) array.push(null);
    array[key] = setIn(array[key] ?? null, rest, newValue, where);
    return array;
  }
  if (!empty && !isYqMap(value)) fail(where.ctx, `cannot set key "${key}" of ${describeYqType(value)}`, where.pos);
  const map: YqMap = isYqMap(value) ? value : {};
  return withKey(map, key, setIn(getKey(map, key), rest, newValue, where));
}

/** A copy of `value` without the locations in `paths` (all removed at once, so indices do not shift in between). */
function deletePaths(value: unknown, paths: readonly (readonly PathKey[])[]): unknown {
  if (paths.some((path) => path.length === 0)) return null;
  const pathsUnder = (key: PathKey) => paths.filter((path) => path[0] === key);
  const keep = (key: PathKey, child: unknown): { keep: boolean; value: unknown } => {
    const under = pathsUnder(key);
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
    let out: YqMap = {};
    for (const key of Object.keys(value)) {
      const result = keep(key, value[key]);
      if (result.keep) out = withKey(out, key, result.value);
    }
    return out;
  }
  return value;
}

function evaluateCall(node: Extract<YqNode, { kind: "call" }>, input: Item, ctx: EvalContext): Item[] {
  const { value } = input;
  const result = (out: unknown): Item[] => [{ value: out, path: undefined }];
  const argument = node.argument ?? { kind: "identity", pos: node.pos };
  const needArray = (): unknown[] => {
    if (Array.isArray(value)) return value;
    return fail(ctx, `operator "${node.name}" needs an array but got ${describeYqType(value)}`, node.pos);
  };
  switch (node.name) {
    case "select":
      return evaluate(argument, input, ctx).some((item) => isTruthy(item.value)) ? [input] : [];
    case "not":
      return result(!isTruthy(value));
    case "length":
      if (value === null || value === undefined) return result(0);
      if (Array.isArray(value)) return result(value.length);
      if (isYqMap(value)) return result(Object.keys(value).length);
      // yq measures any other scalar by its text.
      return result(String(value).length);
    case "keys":
      if (Array.isArray(value)) return result(value.map((_, index) => index));
      if (isYqMap(value)) return result(Object.keys(value));
      return fail(ctx, `operator "keys" needs a map or an array but got ${describeYqType(value)}`, node.pos);
    case "has":
      return evaluate(argument, input, ctx).map((item) => {
        const key = item.value;
        if (value === null || value === undefined) return { value: false, path: undefined };
        if (isYqMap(value) && typeof key === "string") return { value: Object.hasOwn(value, key), path: undefined };
        if (Array.isArray(value) && typeof key === "number") {
          const index = key < 0 ? value.length + key : key;
          return { value: Number.isInteger(index) && index >= 0 && index < value.length, path: undefined };
        }
        return fail(ctx, `operator "has" cannot look up ${describeYqType(key)} in ${describeYqType(value)}`, node.pos);
      });
    case "map": {
      if (value === null || value === undefined) return result([]);
      const elements = iterateItem({ value, path: undefined }, node.pos, ctx);
      return result(elements.flatMap((element) => evaluate(argument, element, ctx).map((item) => item.value)));
    }
    case "sort":
      return result([...needArray()].sort(yqCompare));
    case "unique":
    case "unique_by": {
      const seen = new Set<string>();
      const out: unknown[] = [];
      for (const [index, element] of needArray().entries()) {
        const [keyItem] = evaluate(argument, { value: element ?? null, path: [...(input.path ?? []), index] }, ctx);
        const key = yqUniqueKey(keyItem?.value ?? null);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(element);
      }
      return result(out);
    }
    case "del": {
      const paths = evaluate(argument, { value, path: [] }, ctx).map((item) => {
        if (item.path === undefined) fail(ctx, 'operator "del" needs a path, such as del(.a.b)', argument.pos);
        return item.path;
      });
      return [{ value: deletePaths(value, paths), path: input.path }];
    }
  }
}
