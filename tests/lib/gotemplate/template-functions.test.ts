import { expect, test } from "bun:test";
import { GoTemplateFunctions, TemplateFunctions } from "../../../lib/gotemplate/template-functions.ts";
import { failureReason, render } from "./support/template-data.ts";

test("GoTemplateFunctions lists Go's built-ins den has and Lima's functions, sorted", () => {
  expect(GoTemplateFunctions).toEqual(["and", "eq", "ge", "gt", "indent", "index", "json", "le", "len", "lt", "missing", "ne", "not", "or", "print", "printf", "println", "yaml"]);
});

test.each([
  { call: 'eq(1, 1)', name: "eq", args: [1, 1], want: true },
  { call: 'eq("a", "b", "a")', name: "eq", args: ["a", "b", "a"], want: true },
  { call: 'eq("a", null)', name: "eq", args: ["a", null], want: false },
  { call: 'eq(null, null)', name: "eq", args: [null, null], want: true },
  { call: 'ne(1, 2)', name: "ne", args: [1, 2], want: true },
  { call: 'lt("a", "b")', name: "lt", args: ["a", "b"], want: true },
  { call: 'le(2, 2)', name: "le", args: [2, 2], want: true },
  { call: 'gt(2, 2)', name: "gt", args: [2, 2], want: false },
  { call: 'ge(2, 2)', name: "ge", args: [2, 2], want: true },
  { call: 'not("")', name: "not", args: [""], want: true },
  { call: 'len("héllo")', name: "len", args: ["héllo"], want: 6 },
  { call: 'index({ a: [1, 2] }, "a", 1)', name: "index", args: [{ a: [1, 2] }, "a", 1], want: 2 },
  { call: 'index({ a: 1 }, "b")', name: "index", args: [{ a: 1 }, "b"], want: null },
  { call: 'index("abc", 1)', name: "index", args: ["abc", 1], want: 98 },
  { call: 'index([1, 2])', name: "index", args: [[1, 2]], want: [1, 2] },
  { call: 'print("a", 1, 2, "b", true)', name: "print", args: ["a", 1, 2, "b", true], want: "a1 2btrue" },
  { call: 'println("a", 1)', name: "println", args: ["a", 1], want: "a 1\n" },
  { call: 'printf("%s=%d", "a", 1)', name: "printf", args: ["%s=%d", "a", 1], want: "a=1" },
  { call: 'json({ a: "<&>", b: [1, null] })', name: "json", args: [{ a: "<&>", b: [1, null] }], want: '{"a":"<&>","b":[1,null]}' },
  { call: 'json(null)', name: "json", args: [null], want: "null" },
  { call: 'indent("a\\nb")', name: "indent", args: ["a\nb"], want: "  a\n  b" },
  { call: 'indent(0, "a")', name: "indent", args: [0, "a"], want: "a" },
  { call: 'missing("")', name: "missing", args: [""], want: "<missing>" },
  { call: 'missing("none", "x")', name: "missing", args: ["none", "x"], want: "x" },
])("TemplateFunctions: $call returns the value Go's function returns", ({ name, args, want }) => {
  expect(TemplateFunctions[name]!([...args])).toEqual(want);
});

test.each([
  { name: "compares with ne lt le gt ge", text: '{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge "b" "a"}}', want: "true true true false true" },
  { name: "compares strings byte by byte", text: '{{lt "B" "a"}} {{lt "abc" "abd"}} {{gt "b" "abc"}}', want: "true true true" },
  { name: "compares numbers and fractions", text: "{{lt 1 1.5}} {{eq .Ratio 1.5}} {{ge .UID 501}}", want: "true true true" },
  { name: "eq matches any of several arguments", text: `{{eq .Name "x" "default"}}`, want: "true" },
  { name: "eq compares with a missing index", text: `{{eq (index .Map "nope") .Nothing}}`, want: "true" },
  { name: "and/or return the deciding argument", text: `{{and 1 "" 3}}|{{or 0 "x"}}|{{not .Flag}}`, want: "|x|true" },
  { name: "and returns the last argument when all are true", text: `{{and 1 "x" .List}}`, want: "[a b c]" },
  { name: "or returns the last argument when none is true", text: `{{or 0 "" .Empty}}`, want: "[]" },
  { name: "and stops at the first false argument", text: `{{and .Flag (index .List 99)}}`, want: "false" },
  { name: "or stops at the first true argument", text: `{{or .Name (index .List 99)}}`, want: "default" },
  { name: "and takes a pipeline's value last", text: `{{"x" | and 1}}`, want: "x" },
  { name: "measures len of a string, list and map", text: "{{len .Name}} {{len .List}} {{len .Map}}", want: "7 3 2" },
  { name: "measures len of a string in bytes", text: `{{len "héllo"}}`, want: "6" },
  { name: "indexes a list and a map", text: `{{index .List 2}} {{index .Map "alpha"}} {{index .Rows 0 "port"}}`, want: "c 2 22" },
  { name: "indexes a map by a key that is not a name", text: `{{index .Param "DOCKER"}}`, want: "yes" },
  { name: "json encodes a value", text: "{{json .Rows}}", want: '[{"name":"x","port":22},{"name":"y","port":80}]' },
  { name: "json encodes a string and nil", text: "{{json .Name}} {{json .Nothing}}", want: '"default" null' },
  { name: "json leaves HTML characters unescaped as Lima does", text: '{{json "<a&b>"}}', want: '"<a&b>"' },
  { name: "yaml encodes a value after a document marker", text: "{{yaml .Instance}}", want: "---\nDir: /Users/alice/.lima/default\nName: default" },
  { name: "yaml does not indent a list under its key, as Lima's encoder", text: "{{yaml .Config}}", want: "---\nCPUs: 4\nMemory: 4GiB\nMounts:\n- Location: /home/alice\n  Writable: false" },
  { name: "indent defaults to two spaces and skips empty lines", text: `{{"a\\n\\nb" | indent}}`, want: "  a\n\n  b" },
  { name: "indent takes a size", text: `{{indent 4 "a\\nb"}}`, want: "    a\n    b" },
  { name: "indents yaml for a nested document", text: "{{.Instance | yaml | indent 2}}", want: "  ---\n  Dir: /Users/alice/.lima/default\n  Name: default" },
  { name: "missing replaces an empty string", text: `{{.Param.EMPTY | missing "unset"}} {{.Name | missing}}`, want: "unset default" },
  { name: "missing has a default message", text: `{{missing ""}}`, want: "<missing>" },
  { name: "print and println join like Go", text: `{{print "a" 1 2 "b"}}|{{println 1 "x"}}`, want: "a1 2b|1 x\n" },
  { name: "print shows nil as <nil>", text: "{{print .Nothing}}", want: "<nil>" },
  { name: "formats %s %d %v %q", text: `{{printf "%s %d %v %q" .Name .UID .List .Name}}`, want: 'default 501 [a b c] "default"' },
  { name: "formats width, padding and %%", text: `{{printf "%-5s|%5d|%05d|%%" "ab" 42 7}}`, want: "ab   |   42|00007|%" },
  { name: "marks a wrong printf verb as Go does", text: `{{printf "%d %s" "x"}}`, want: "%!d(string=x) %!s(MISSING)" },
  { name: "marks extra printf arguments as Go does", text: `{{printf "a" 1}}`, want: "a%!(EXTRA int=1)" },
])("expandGoTemplate() $name", ({ text, want }) => {
  expect(render(text)).toBe(want);
});

test.each([
  { text: "{{ index .List 9 }}", reason: "error calling index: index out of range: 9" },
  { text: "{{ index .List -1 }}", reason: "error calling index: index out of range: -1" },
  { text: '{{ index .List "a" }}', reason: "error calling index: cannot index slice/array with type string" },
  { text: "{{ index .Nothing 1 }}", reason: "error calling index: index of untyped nil" },
  { text: "{{ index .UID 1 }}", reason: "error calling index: can't index item of type int" },
  { text: "{{ index .Map 1 }}", reason: "error calling index: value has type int; should be string" },
  { text: "{{ index }}", reason: "error calling index: wrong number of args for index: want at least 1 got 0" },
  { text: '{{ eq 1 "1" }}', reason: "error calling eq: incompatible types for comparison" },
  { text: "{{ eq 1 }}", reason: "error calling eq: missing argument for comparison" },
  { text: "{{ eq .List .List }}", reason: "error calling eq: non-comparable type []interface {}" },
  { text: '{{ lt 1 "a" }}', reason: "error calling lt: incompatible types for comparison" },
  { text: "{{ lt .List 1 }}", reason: "error calling lt: invalid type for comparison: []interface {}" },
  { text: "{{ lt 1 .List }}", reason: "error calling lt: invalid type for comparison: []interface {}" },
  { text: "{{ lt true false }}", reason: "error calling lt: invalid type for comparison: bool" },
  { text: "{{ ne 1 2 3 }}", reason: "error calling ne: wrong number of args for ne: want 2 got 3" },
  { text: "{{ not }}", reason: "error calling not: wrong number of args for not: want 1 got 0" },
  { text: "{{ and }}", reason: "wrong number of args for and: want at least 1 got 0" },
  { text: "{{ len 3 }}", reason: "error calling len: len of type int" },
  { text: "{{ len .Nothing }}", reason: "error calling len: len of nil pointer" },
  { text: "{{ printf }}", reason: "error calling printf: wrong number of args for printf: want at least 1 got 0" },
  { text: "{{ printf 1 }}", reason: "error calling printf: wrong type for value; expected string; got int" },
  { text: "{{ json }}", reason: "error calling json: wrong number of args for json: want 1 got 0" },
  { text: "{{ indent }}", reason: "error calling indent: function takes at least one string argument" },
  { text: '{{ indent 1 2 "x" }}', reason: "error calling indent: function takes at most 2 arguments" },
  { text: '{{ indent "a" "b" }}', reason: "error calling indent: optional first argument must be an integer" },
  { text: "{{ indent 2 3 }}", reason: "error calling indent: last argument must be a string" },
  { text: '{{ missing 1 "x" }}', reason: "error calling missing: optional first argument must be a string" },
  { text: "{{ missing .List }}", reason: "error calling missing: last argument must be a string" },
])("expandGoTemplate() rejects $text: $reason", ({ text, reason }) => {
  expect(failureReason(text)).toBe(reason);
});
