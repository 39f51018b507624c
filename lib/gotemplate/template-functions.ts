// The functions a template may call: Go's text/template built-ins (less `html`, `js`, `urlquery`,
// `slice`, `call`) and the ones Lima registers for its templates and `--format` (pkg/textutil).
// `and` and `or` are not here: they evaluate their arguments lazily, so the executor runs them itself.
import { stringify as stringifyYaml } from "yaml";
import { equal, formatValue, goTypeName, isMap, isTrue, less } from "./go-value.ts";
import { sprintf } from "./sprintf.ts";

/** A function takes its evaluated arguments (a pipeline's value last) and throws a plain Error to fail. */
export type TemplateFunction = (args: unknown[]) => unknown;

/** Go's message for a call with the wrong number of arguments. */
function arity(name: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} or ${max}`;
    throw new Error(`wrong number of args for ${name}: want ${want} got ${args.length}`);
  }
}

/** A function of one or more arguments that reads only the first. */
function unary(name: string, fn: (value: unknown) => unknown): TemplateFunction {
  return (args) => {
    arity(name, args, 1);
    return fn(args[0]);
  };
}

/** A comparison of exactly two arguments. */
function binary(name: string, fn: (a: unknown, b: unknown) => boolean): TemplateFunction {
  return (args) => {
    arity(name, args, 2);
    return fn(args[0], args[1]);
  };
}

function indexValue(item: unknown, keys: unknown[]): unknown {
  let current = item;
  for (const key of keys) {
    if (current === null || current === undefined) throw new Error("index of untyped nil");
    if (Array.isArray(current) || typeof current === "string") {
      if (typeof key !== "number" || !Number.isInteger(key)) throw new Error(`cannot index slice/array with type ${goTypeName(key)}`);
      if (key < 0 || key >= current.length) throw new Error(`index out of range: ${key}`);
      current = typeof current === "string" ? Buffer.from(current, "utf8")[key] : current[key];
    } else if (isMap(current)) {
      if (typeof key !== "string") throw new Error(`value has type ${goTypeName(key)}; should be string`);
      // Go's index yields the zero value for a missing key, whatever the missingkey option says; the
      // zero value of Lima's `any` values is nil.
      current = Object.hasOwn(current, key) ? current[key] : null;
    } else {
      throw new Error(`can't index item of type ${goTypeName(current)}`);
    }
  }
  return current;
}

/** fmt.Sprint puts spaces between operands when neither is a string; Sprintln always. */
function goPrint(args: unknown[], spaces: "between-non-strings" | "always"): string {
  let out = "";
  args.forEach((arg, i) => {
    if (i > 0 && (spaces === "always" || (typeof arg !== "string" && typeof args[i - 1] !== "string"))) out += " ";
    out += formatValue(arg);
  });
  return out;
}

/** Lima's `indent` and `missing` take an optional first argument and a string last. */
function optionalThenText<T>(args: unknown[], options: { fallback: T; check: (value: unknown) => value is T; wrongFirst: string }): [T, string] {
  if (args.length === 0) throw new Error("function takes at least one string argument");
  if (args.length > 2) throw new Error("function takes at most 2 arguments");
  const first = args.length > 1 ? args[0] : options.fallback;
  if (!options.check(first)) throw new Error(options.wrongFirst);
  const text = args.at(-1);
  if (typeof text !== "string") throw new Error("last argument must be a string");
  return [first, text];
}

const isInteger = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value);
const isString = (value: unknown): value is string => typeof value === "string";

export const TemplateFunctions: Readonly<Record<string, TemplateFunction>> = {
  not: unary("not", (value) => !isTrue(value)),
  eq: (args) => {
    if (args.length < 2) throw new Error("missing argument for comparison");
    return args.slice(1).some((other) => equal(args[0], other));
  },
  ne: binary("ne", (a, b) => !equal(a, b)),
  lt: binary("lt", less),
  le: binary("le", (a, b) => less(a, b) || equal(a, b)),
  gt: binary("gt", (a, b) => !less(a, b) && !equal(a, b)),
  ge: binary("ge", (a, b) => !less(a, b)),
  len: unary("len", (value) => {
    if (typeof value === "string") return Buffer.byteLength(value, "utf8");
    if (Array.isArray(value)) return value.length;
    if (isMap(value)) return Object.keys(value).length;
    throw new Error(value === null || value === undefined ? "len of nil pointer" : `len of type ${goTypeName(value)}`);
  }),
  index: (args) => {
    arity("index", args, 1, Infinity);
    return indexValue(args[0], args.slice(1));
  },
  print: (args) => goPrint(args, "between-non-strings"),
  println: (args) => `${goPrint(args, "always")}\n`,
  printf: (args) => {
    arity("printf", args, 1, Infinity);
    if (typeof args[0] !== "string") throw new Error(`wrong type for value; expected string; got ${goTypeName(args[0])}`);
    return sprintf(args[0], args.slice(1));
  },
  // Lima's pkg/textutil functions.
  json: unary("json", (value) => JSON.stringify(value ?? null)),
  // Lima's YAML encoder (goccy/go-yaml) does not indent a list under its key.
  yaml: unary("yaml", (value) => `---\n${stringifyYaml(value ?? null, { indentSeq: false }).replace(/\n$/, "")}`),
  indent: (args) => {
    const [size, text] = optionalThenText(args, { fallback: 2, check: isInteger, wrongFirst: "optional first argument must be an integer" });
    const prefix = " ".repeat(size);
    return text
      .split("\n")
      .map((line) => (line === "" ? line : prefix + line))
      .join("\n");
  },
  missing: (args) => {
    const [message, text] = optionalThenText(args, { fallback: "<missing>", check: isString, wrongFirst: "optional first argument must be a string" });
    return text === "" ? message : text;
  },
};

/** Function names a template may call. */
export const GoTemplateFunctions: readonly string[] = [...Object.keys(TemplateFunctions), "and", "or"].sort();
