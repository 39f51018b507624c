import { expect, test } from "bun:test";
import { ConfigError } from "../../../lib/errors.ts";
import { parseConfigText } from "../../../lib/config/parse.ts";

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
])("parseConfigText() reports $name with file:line:column", ({ text, line, column, message }) => {
  let caught: unknown;
  try {
    parseConfigText(text, { file: "lima.yaml" });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.code).toBe("CONFIG_SYNTAX");
  expect(error.issues[0]).toMatchObject({ file: "lima.yaml", line, column, message });
  expect(error.message.startsWith(`lima.yaml:${line}:${column}: `)).toBe(true);
  expect(error.hint).toBeDefined();
});

test("parseConfigText() rejects more than one document", () => {
  expect(() => parseConfigText("a: 1\n---\nb: 2\n")).toThrow(ConfigError);
});
