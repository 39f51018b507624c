// Schema check of one parsed lima.yaml: every zod issue becomes a located ConfigIssue with a readable
// message, all of them collected into one ConfigError so the user fixes the file in one pass.
import type { z } from "zod";
import { ConfigError, type ConfigIssue, excerpt } from "../errors.ts";
import { closestMatch } from "../text/closest-match.ts";
import { locateNode } from "./locate.ts";
import type { ParsedConfig } from "./parse.ts";
import { type DenYaml, DenYamlSchema } from "./schema.ts";

export interface CheckOptions {
  /** File name used in messages. */
  file?: string;
}

type Path = (string | number)[];
type ZodIssue = z.core.$ZodIssue;

/** Validates the parsed value against the lima.yaml schema; throws ConfigError("CONFIG_INVALID") listing every issue. */
export function checkConfig(parsed: ParsedConfig, options: CheckOptions = {}): DenYaml {
  // An empty file (or one holding only comments) is an empty configuration, as in Lima.
  const input = parsed.value ?? {};
  const result = DenYamlSchema.safeParse(input);
  if (result.success) return result.data;

  const topUnknown = result.error.issues.flatMap((issue) => (issue.code === "unrecognized_keys" && issue.path.length === 0 ? issue.keys : []));
  const issues = notAConfiguration(input, topUnknown) ?? result.error.issues.flatMap((issue) => describeIssue(issue, [], input));
  throw new ConfigError("CONFIG_INVALID", locateIssues(parsed, issues, options));
}

/**
 * Throws ConfigError("CONFIG_INVALID") when `parsed` is some other file rather than a configuration (see
 * notAConfiguration), without the schema check. For base templates: embedding merges them into a template whose
 * keys are known, and the merged result would list the base's lines one by one (a base of /etc/shadow quoted
 * its password hashes).
 */
export function checkIsConfiguration(parsed: ParsedConfig, options: CheckOptions = {}): void {
  const input = parsed.value;
  if (input === null || typeof input !== "object" || Array.isArray(input)) return;
  const known = new Set(knownKeysAt([]));
  const issues = notAConfiguration(input, Object.keys(input).filter((key) => !known.has(key)));
  if (issues !== undefined) throw new ConfigError("CONFIG_INVALID", locateIssues(parsed, issues, options));
}

function locateIssues(parsed: ParsedConfig, issues: readonly DescribedIssue[], options: CheckOptions): ConfigIssue[] {
  const located = issues.map((issue) => {
    const position = locateNode(parsed, issue.locateAt ?? issue.path, { at: issue.atKey ? "key" : "value" });
    const { atKey: _atKey, locateAt: _locateAt, ...rest } = issue;
    return { ...rest, ...(options.file !== undefined && { file: options.file }), ...(position && { line: position.line, column: position.column }) };
  });
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return located;
}

/**
 * A file whose top-level keys are all unknown, none of them a near miss of a known one, is some other file
 * (`den create /etc/shadow`, a wrong path): one issue says so, where listing each key would quote the file back.
 */
function notAConfiguration(input: unknown, topUnknown: readonly string[]): DescribedIssue[] | undefined {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return undefined;
  const keys = Object.keys(input);
  if (keys.length < 2 || topUnknown.length !== keys.length) return undefined;
  const known = knownKeysAt([]);
  if (topUnknown.some((key) => closestMatch(key, known) !== undefined)) return undefined;
  return [
    {
      path: [],
      message: `Not a Lima or den configuration: none of its ${keys.length} top-level keys is known`,
      hint: "check the file name; a template has keys such as images:, cpus: and mounts:",
      locateAt: [keys[0]!],
      atKey: true,
    },
  ];
}

/** What a mistyped key of Lima's schema can look like; an unknown key is quoted only if it does. */
const KeyNameLike = /^[A-Za-z0-9_.-]{1,40}$/;

interface DescribedIssue extends ConfigIssue {
  /** The key itself is wrong (unknown key), so point at it rather than its value. */
  atKey?: boolean;
  /** Where to point when that is not `path`. */
  locateAt?: Path;
}

/** Turns one zod issue (possibly a union of alternatives) into den's issues; `base` prefixes nested paths. */
function describeIssue(issue: ZodIssue, base: Path, root: unknown): DescribedIssue[] {
  const path: Path = [...base, ...(issue.path as Path)];
  const value = valueAt(root, path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        if (!KeyNameLike.test(key)) {
          // Not a mistyped key but a line of some other file (`root:$6$…` of /etc/shadow reads as a key): say
          // where it is and how long, never what it says. Kept out of `path` too, which messages print.
          return { path, message: `Unknown key that is not a key name (${key.length} characters, not shown)`, locateAt: [...path, key], atKey: true };
        }
        const known = knownKeysAt(path);
        const suggestion = closestMatch(key, known.filter((candidate) => !hasKey(value, candidate)));
        return {
          path: [...path, key],
          message: `Unknown key "${excerpt(key, 40)}"`,
          ...(suggestion !== undefined && { hint: `did you mean "${suggestion}"?` }),
          atKey: true,
        };
      });
    case "invalid_type":
      if (value === undefined && typeof path.at(-1) === "string") {
        return [{ path, message: `Missing required key "${path.at(-1)}"`, hint: `add ${String(path.at(-1))}: with ${expectedName(issue.expected, path)}` }];
      }
      return [{ path, message: `Expected ${expectedName(issue.expected, path)}, got ${describeValue(value)}` }];
    case "invalid_value": {
      const allowed = issue.values.map((option) => JSON.stringify(option));
      const suggestion = typeof value === "string" ? closestMatch(value, issue.values.map(String)) : undefined;
      return [
        {
          path,
          message: `Unknown value ${describeValue(value)}: expected one of ${allowed.join(", ")}`,
          ...(suggestion !== undefined && { hint: `did you mean "${suggestion}"?` }),
        },
      ];
    }
    case "too_small":
    case "too_big": {
      const hint = FieldHints[path.join(".")];
      return [{ path, message: boundMessage(issue, value), ...(hint !== undefined && { hint }) }];
    }
    case "invalid_union":
      return describeUnion(issue, path, root);
    default:
      return [{ path, message: excerpt(issue.message, 160) }];
  }
}

/**
 * A union such as `string | {url, digest}` fails once per alternative. When the value has the shape of
 * one alternative (an object for the object branch) its issues are the useful ones; otherwise say which
 * kinds of value are accepted.
 */
function describeUnion(issue: Extract<ZodIssue, { code: "invalid_union" }>, path: Path, root: unknown): DescribedIssue[] {
  const branches = issue.errors.filter((branch) => branch.length > 0);
  const relevant = branches.find((branch) => !branch.every(isShapeMismatch));
  if (relevant) return relevant.flatMap((inner) => describeIssue(inner, path, root));
  const expected = [...new Set(branches.flatMap((branch) => branch.flatMap((inner) => expectedKinds(inner, path))))];
  const list = expected.length > 1 ? `${expected.slice(0, -1).join(", ")} or ${expected.at(-1)}` : (expected[0] ?? "another value");
  return [{ path, message: `Expected ${list}, got ${describeValue(valueAt(root, path))}` }];
}

/** The value is of the wrong kind altogether for this alternative (rather than wrong inside). */
function isShapeMismatch(issue: ZodIssue): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === "invalid_type") return true;
  return issue.code === "invalid_union" && issue.errors.every((branch) => branch.every(isShapeMismatch));
}

function expectedKinds(issue: ZodIssue, path: Path): string[] {
  if (issue.code === "invalid_type") return [expectedName(issue.expected, path, { inList: true })];
  if (issue.code === "invalid_union") return issue.errors.flatMap((branch) => branch.flatMap((inner) => expectedKinds(inner, path)));
  return [];
}

function boundMessage(issue: Extract<ZodIssue, { code: "too_small" | "too_big" }>, value: unknown): string {
  const small = issue.code === "too_small";
  const limit = small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum;
  if (issue.origin === "array") {
    const count = Array.isArray(value) ? value.length : 0;
    return `Expected ${small ? "at least" : "at most"} ${limit} items, got ${count}`;
  }
  const op = small ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
  return `Expected a number ${op} ${limit}, got ${describeValue(value)}`;
}

/** Hints for a bound a field breaks, by its dotted path. */
const FieldHints: Record<string, string> = {
  cpus: "give a positive number of CPUs, or remove cpus: to use the default (at most 4, and no more than the host has)",
};

const ExpectedNames: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  tuple: "a list",
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  record: "a mapping",
};

function expectedName(expected: string, path: Path, options: { inList?: boolean } = {}): string {
  if (expected === "boolean" && options.inList) return "a boolean";
  if (expected === "number" && isIntegerSchema(schemaAt(path))) return ExpectedNames.int!;
  return ExpectedNames[expected] ?? expected;
}

/** How a YAML value reads in a message: scalars quoted or shown, collections by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `"${excerpt(value, 40)}"`;
  return String(value);
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function hasKey(value: unknown, key: string): boolean {
  return value !== null && typeof value === "object" && Object.hasOwn(value, key);
}

// --- walking the schema (for known keys and integer fields) ---------------------------------------

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
  items?: z.ZodType[];
  valueType?: z.ZodType;
  format?: string;
}

function defOf(schema: z.ZodType): SchemaDef {
  return schema._zod.def as unknown as SchemaDef;
}

/** Strips optional/nullable/transform wrappers. */
function unwrap(schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema);
  if ((def.type === "optional" || def.type === "nullable") && def.innerType) return unwrap(def.innerType);
  if (def.type === "pipe" && def.in) return unwrap(def.in);
  if (def.type === "union" && def.options) return def.options.flatMap(unwrap);
  return [schema];
}

/** The schemas that may describe the value at `path` (more than one inside unions). */
function schemaAt(path: Path): z.ZodType[] {
  let current: z.ZodType[] = unwrap(DenYamlSchema);
  for (const part of path) {
    current = current.flatMap((schema) => {
      const def = defOf(schema);
      if (def.type === "object" && typeof part === "string" && def.shape?.[part]) return unwrap(def.shape[part]);
      if (def.type === "array" && typeof part === "number" && def.element) return unwrap(def.element);
      if (def.type === "tuple" && typeof part === "number" && def.items?.[part]) return unwrap(def.items[part]);
      if (def.type === "record" && def.valueType) return unwrap(def.valueType);
      return [];
    });
  }
  return current;
}

function knownKeysAt(path: Path): string[] {
  return schemaAt(path).flatMap((schema) => {
    const def = defOf(schema);
    return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
  });
}

function isIntegerSchema(schemas: z.ZodType[]): boolean {
  return schemas.some((schema) => {
    const def = defOf(schema);
    return def.type === "number" && (def.format === "safeint" || def.format === "int32" || def.format === "uint32");
  });
}
