import { expect, test } from "bun:test";
import { ConfigError } from "../../../lib/errors.ts";
import { caughtError } from "../../support/caught-den-error.ts";
import { flowDepthOffset, MaxFlowDepth, parseConfigText } from "../../../lib/config/parse.ts";

test.each([
  { name: "a mapping", text: "cpus: 2\nmemory: 4GiB\n", want: { cpus: 2, memory: "4GiB" } },
  { name: "an empty file", text: "", want: null },
  { name: "a file of comments", text: "# nothing here\n", want: null },
  { name: "null values", text: "cpus: null\nmemory:\n", want: { cpus: null, memory: null } },
  { name: "anchors and aliases", text: "a: &x [1]\nb: *x\n", want: { a: [1], b: [1] } },
  { name: "merge keys", text: "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n", want: { base: { x: 1 }, c: { x: 1, y: 2 } } },
  { name: "YAML 1.2 booleans only", text: "a: yes\nb: true\n", want: { a: "yes", b: true } },
])("parseConfigText() reads $name", ({ text, want }) => {
  const parsed = parseConfigText(text, { file: "lima.yaml" });
  expect(parsed.value).toEqual(want);
  expect(parsed.document).toBeDefined();
  expect(parsed.lineCounter.lineStarts.length).toBeGreaterThan(0);
});

test.each([
  { name: "an unclosed flow sequence", text: "cpus: 2\nimages: [a, b\nmemory: 4G\n", line: 3, column: 1, message: "Cannot parse YAML: flow sequence in block collection must be sufficiently indented and end with a ]" },
  { name: "a duplicate key", text: "cpus: 2\ncpus: 3\n", line: 2, column: 1, message: "Cannot parse YAML: map keys must be unique" },
  { name: "a tab used as indentation", text: "mounts:\n\t- location: ~\n", line: 2, column: 1, message: "Cannot parse YAML: tabs are not allowed as indentation" },
  { name: "an unterminated quote", text: 'message: "hello\n', line: 2, column: 1, message: 'Cannot parse YAML: missing closing "quote' },
  { name: "an alias without an anchor", text: "a: 1\nb: *nope\n", line: 2, column: 4, message: 'Cannot resolve alias "*nope": no anchor "&nope" before it' },
  { name: "an alias before its anchor", text: "a: *x\nb: &x 1\n", line: 1, column: 4, message: 'Cannot resolve alias "*x": no anchor "&x" before it' },
  { name: "a duplicate key in a flow mapping", text: "env: {A: 1, B: 2, A: 3}\n", line: 1, column: 19, message: "Cannot parse YAML: map keys must be unique" },
  { name: "a duplicate key in a nested mapping", text: "vmOpts:\n  qemu:\n    cpuType: {}\n    cpuType: {}\n", line: 4, column: 5, message: "Cannot parse YAML: map keys must be unique" },
  { name: "flow sequences nested 1001 deep", text: `cpus: 1\nx: ${"[".repeat(1001)}${"]".repeat(1001)}\n`, line: 2, column: 1004, message: "Cannot parse YAML: flow collections ([…] and {…}) are nested more than 1000 levels deep" },
  { name: "flow mappings nested 50,000 deep", text: `env: ${"{a: ".repeat(50_000)}1${"}".repeat(50_000)}\n`, line: 1, column: 4006, message: "Cannot parse YAML: flow collections ([…] and {…}) are nested more than 1000 levels deep" },
  { name: "a NUL byte", text: "cpus: 2\nmes\u0000sage: x\n", line: 2, column: 4, message: 'Cannot parse YAML: control character "\\x00" is not allowed' },
  { name: "an escape character", text: "message: \u001b[31mred\n", line: 1, column: 10, message: 'Cannot parse YAML: control character "\\x1b" is not allowed' },
  { name: "invalid UTF-8", text: "cpus: 2\nmessage: caf\ufffd\n", line: 2, column: 13, message: "Cannot parse YAML: the text is not valid UTF-8" },
])("parseConfigText() reports $name with file:line:column", ({ text, line, column, message }) => {
  const error = caughtError(() => parseConfigText(text, { file: "lima.yaml" }), ConfigError);
  expect(error.code).toBe("CONFIG_SYNTAX");
  expect(error.issues[0]).toMatchObject({ file: "lima.yaml", line, column, message });
  expect(error.message.startsWith(`lima.yaml:${line}:${column}: `)).toBe(true);
  expect(error.hint).toBeDefined();
});

test("parseConfigText() rejects more than one document", () => {
  expect(() => parseConfigText("a: 1\n---\nb: 2\n")).toThrow(ConfigError);
});

test.each([
  { name: "a tab, a line break and non-ASCII text", text: 'message: "tab\there"\nname: "日本語 ☃ \u{1F600}"\n' },
  { name: "a byte order mark", text: "\ufeffcpus: 2\n" },
  { name: "an escaped control character in a double-quoted string", text: 'message: "\\e[31m"\n' },
])("parseConfigText() accepts $name", ({ text }) => {
  expect(() => parseConfigText(text)).not.toThrow();
});

test("parseConfigText() turns a map key that is a list into text without a process warning", () => {
  const warnings: unknown[] = [];
  const listener = (warning: unknown) => warnings.push(warning);
  process.on("warning", listener);
  try {
    expect(parseConfigText("? [a, b]\n: 1\n").value).toEqual({ "[ a, b ]": 1 });
  } finally {
    process.off("warning", listener);
  }
  expect(warnings).toEqual([]);
});

test("parseConfigText() names an unexpected token by its position, not by quoting it", () => {
  expect(caughtError(() => parseConfigText(`a: 1\n]${"x".repeat(5000)}\n`, { file: "lima.yaml" }), ConfigError).message).toBe(
    "lima.yaml:2:1: Cannot parse YAML: unexpected flow-seq-end token in YAML stream\nlima.yaml:2:2: Cannot parse YAML: unexpected scalar token in YAML stream",
  );
});

test.each([
  { name: "no brackets", text: "cpus: 2\n", max: 2, want: undefined },
  { name: "nesting at the limit", text: "a: [[{b: 1}]]\n", max: 3, want: undefined },
  { name: "nesting over the limit", text: "a: [[{b: [1]}]]\n", max: 3, want: 9 },
  { name: "brackets in quoted scalars", text: `a: "[[[[[["\nb: '{{{{{{'\n`, max: 2, want: undefined },
  { name: "brackets in a comment", text: "a: 1 # [[[[[[\n", max: 2, want: undefined },
  { name: "brackets in a block scalar", text: "script: |\n  [[[[[[ {{{{\n", max: 2, want: undefined },
  { name: "many closed brackets one after another", text: `a: ${"[] ".repeat(50)}\n`.replace(/\] \[/g, "], ["), max: 2, want: undefined },
])("flowDepthOffset() finds $name", ({ text, max, want }) => {
  expect(flowDepthOffset(text, max)).toBe(want);
});

test("parseConfigText() accepts flow collections nested as deep as MaxFlowDepth", () => {
  const text = `cpus: ${"[".repeat(MaxFlowDepth)}${"]".repeat(MaxFlowDepth)}\n`;
  expect(() => parseConfigText(text)).not.toThrow();
});

test("parseConfigText() checks 40,000 keys of one mapping for duplicates in linear time", () => {
  // yaml's own check compares each key with all before it: 10 s for this mapping.
  const text = `env:\n${Array.from({ length: 40_000 }, (_, i) => `  K${i}: v\n`).join("")}`;
  const started = performance.now();
  const parsed = parseConfigText(text);
  expect(performance.now() - started).toBeLessThan(4000);
  expect(Object.keys((parsed.value as { env: object }).env)).toHaveLength(40_000);
});
