import { expect, test } from "bun:test";
import { evaluateYqText, renderYamlValue } from "../../../lib/cli/evaluate-yq-text.ts";

const text = "# head\na: 1 # one\nb:\n  - x\n  - y\nc:\n  d: e\n";

test.each([
  { name: "prints a scalar bare", expr: ".c.d", format: "yaml" as const, indent: 2, want: "e\n" },
  { name: "prints every result of an iteration", expr: ".b[]", format: "yaml" as const, indent: 2, want: "x\ny\n" },
  { name: "prints a map as YAML", expr: ".c", format: "yaml" as const, indent: 2, want: "d: e\n" },
  { name: "keeps comments when the result is the whole document", expr: ".a = 2", format: "yaml" as const, indent: 2, want: "# head\na: 2 # one\nb:\n  - x\n  - y\nc:\n  d: e\n" },
  { name: "keeps comments through del()", expr: "del(.b)", format: "yaml" as const, indent: 2, want: "# head\na: 1 # one\nc:\n  d: e\n" },
  { name: "prints JSON on one line with indent 0", expr: ".", format: "json" as const, indent: 0, want: '{"a":1,"b":["x","y"],"c":{"d":"e"}}\n' },
  { name: "prints JSON strings quoted", expr: ".c.d", format: "json" as const, indent: 2, want: '"e"\n' },
  { name: "prints null for a missing key", expr: ".nope", format: "yaml" as const, indent: 2, want: "null\n" },
])("evaluateYqText() $name", ({ expr, format, indent, want }) => {
  expect(evaluateYqText(text, expr, { format, indent })).toBe(want);
});

test("evaluateYqText() evaluates on null without input (--null-input)", () => {
  expect(evaluateYqText(null, ".foo = 42", { format: "yaml", indent: 2 })).toBe("foo: 42\n");
});

test.each([
  { value: null, want: "null\n" },
  { value: 3, want: "3\n" },
  { value: true, want: "true\n" },
  { value: "a: b", want: "a: b\n" },
  { value: ["x"], want: "- x\n" },
])("renderYamlValue() renders $value", ({ value, want }) => {
  expect(renderYamlValue(value)).toBe(want);
});
