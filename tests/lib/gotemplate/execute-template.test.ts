import { expect, test } from "bun:test";
import { executeTemplate, type MissingKeyMode } from "../../../lib/gotemplate/execute-template.ts";
import { lexTemplate } from "../../../lib/gotemplate/lex-template.ts";
import { parseTemplate } from "../../../lib/gotemplate/parse-template.ts";
import { TemplateFailure } from "../../../lib/gotemplate/template-failure.ts";
import { GoTemplateFunctions } from "../../../lib/gotemplate/template-functions.ts";
import { data, failureReason, render, renderFailure } from "./support/template-data.ts";
import { GoTruthCases } from "./support/go-truth.ts";

test("executeTemplate() runs a tree with the data as dot and root", () => {
  const tree = parseTemplate(lexTemplate("{{with .A}}{{.}}-{{$.B}}{{end}}"), { functions: new Set(GoTemplateFunctions) });
  expect(executeTemplate(tree, { A: "a", B: "b" }, { missingKey: "error" })).toBe("a-b");
});

test("executeTemplate() fails with the offset of the failing action", () => {
  const tree = parseTemplate(lexTemplate("ab{{.Nope}}"), { functions: new Set() });
  expect(() => executeTemplate(tree, {}, { missingKey: "error" })).toThrow(new TemplateFailure('map has no entry for key "Nope"', 4));
});

// Fields, maps and printing.
test.each([
  { name: "expands a field", text: "{{.Home}}/work", want: "/home/alice/work" },
  { name: "expands a field with spaces inside the action", text: "{{ .Name }}", want: "default" },
  { name: "expands a parameter", text: "{{.Param.DOCKER}}", want: "yes" },
  { name: "expands a nested field", text: "{{.Instance.Dir}}/sock", want: "/Users/alice/.lima/default/sock" },
  { name: "expands a field two maps deep", text: "{{.Config.Memory}} {{.Config.CPUs}}", want: "4GiB 4" },
  { name: "prints a number field", text: "uid={{.UID}}", want: "uid=501" },
  { name: "prints a float like Go", text: "{{.Ratio}} {{1234567.5}} {{0.00001}}", want: "1.5 1.2345675e+06 1e-05" },
  { name: "prints a list like Go", text: "{{.List}}", want: "[a b c]" },
  { name: "prints a map with sorted keys like Go", text: "{{.Map}}", want: "map[alpha:2 zeta:1]" },
  { name: "prints a list of maps like Go", text: "{{.Config.Mounts}}", want: "[map[Location:/home/alice Writable:false]]" },
  { name: "prints a null field as <no value>", text: "{{.Nothing}}", want: "<no value>" },
  { name: "prints an empty list and map", text: "{{.Empty}} {{.EmptyMap}}", want: "[] map[]" },
  { name: "reads the root with $", text: "{{range .List}}{{$.Name}}{{end}}", want: "defaultdefaultdefault" },
  { name: "passes a pipeline value as the last argument", text: `{{.Name | printf "%s!"}}`, want: "default!" },
  { name: "quotes through a pipeline", text: `{{.Name | printf "%q"}}`, want: '"default"' },
  { name: "passes a value through several stages", text: `{{"a" | printf "%s%s" "b" | printf "[%s]"}}`, want: "[ba]" },
  { name: "passes a list to len through a pipeline", text: "{{.List | len}}", want: "3" },
  { name: "evaluates a parenthesized pipeline", text: `{{printf "%s/%s" .Home (index .List 1)}}`, want: "/home/alice/b" },
  { name: "reads a field of a parenthesized pipeline", text: `{{(index .Rows 1).name}}`, want: "y" },
])("expandGoTemplate() $name", ({ text, want }) => {
  expect(render(text)).toBe(want);
});

// if, with and Go's truth.
test.each([
  { name: "takes the if branch", text: `{{if eq .Name "default"}}yes{{end}}`, want: "yes" },
  { name: "takes the else branch", text: `{{if .Flag}}yes{{else}}no{{end}}`, want: "no" },
  { name: "takes an else if branch", text: `{{if .Flag}}a{{else if .Empty}}b{{else if .List}}c{{else}}d{{end}}`, want: "c" },
  { name: "takes the last else of an else if chain", text: `{{if .Flag}}a{{else if .Zero}}b{{else}}d{{end}}`, want: "d" },
  { name: "treats empty strings, zero, nil and empty lists as false", text: `{{if or .Param.EMPTY 0 .Nothing .Empty}}t{{else}}f{{end}}`, want: "f" },
  { name: "declares a variable in an if", text: `{{if $n := len .List}}{{$n}} items{{end}}`, want: "3 items" },
  { name: "moves dot with with", text: "{{with .Instance}}{{.Name}}{{end}}", want: "default" },
  { name: "keeps $ as the root inside with", text: "{{with .Config}}{{.Memory}} for {{$.Name}}{{end}}", want: "4GiB for default" },
  { name: "runs with else for an empty value", text: "{{with .Param.EMPTY}}x{{else}}empty{{end}}", want: "empty" },
  { name: "runs else with", text: "{{with .Flag}}a{{else with .Name}}{{.}}{{end}}", want: "default" },
  { name: "declares a variable in a with", text: "{{with $m := .Config.Memory}}{{$m}}={{.}}{{end}}", want: "4GiB=4GiB" },
  { name: "runs a with nested in an if's else", text: "{{if .Flag}}a{{else with .Name}}{{.}}{{end}}!{{end}}", want: "default!" },
])("expandGoTemplate() $name", ({ text, want }) => {
  expect(render(text)).toBe(want);
});

test.each([...GoTruthCases])("expandGoTemplate() treats $label as Go's truth does in if, with and not", ({ value, truth }) => {
  const want = truth ? "T" : "F";
  const results = ["{{if .V}}T{{else}}F{{end}}", "{{with .V}}T{{else}}F{{end}}", "{{if not .V}}F{{else}}T{{end}}"].map((text) => renderWithValue(text, value));
  expect(results).toEqual([want, want, want]);
});

function renderWithValue(text: string, value: unknown): string {
  return executeTemplate(parseTemplate(lexTemplate(text), { functions: new Set(GoTemplateFunctions) }), { V: value }, { missingKey: "error" });
}

// range.
test.each([
  { name: "ranges over a list", text: "{{range .List}}<{{.}}>{{end}}", want: "<a><b><c>" },
  { name: "ranges with one variable, which gets the element", text: "{{range $e := .List}}{{$e}}{{end}}", want: "abc" },
  { name: "ranges with index and element variables", text: "{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", want: "0=a 1=b 2=c " },
  { name: "ranges over a map in key order", text: "{{range $k, $v := .Map}}{{$k}}:{{$v}},{{end}}", want: "alpha:2,zeta:1," },
  { name: "ranges over a map's values in key order", text: "{{range .Map}}{{.}}{{end}}", want: "21" },
  { name: "ranges over an integer", text: "{{range 3}}{{.}}{{end}}", want: "012" },
  { name: "runs range else for an empty list", text: "{{range .Empty}}x{{else}}none{{end}}", want: "none" },
  { name: "runs range else for an empty map", text: "{{range .EmptyMap}}x{{else}}none{{end}}", want: "none" },
  { name: "runs range else for nil", text: "{{range .Nothing}}x{{else}}none{{end}}", want: "none" },
  { name: "gives range else the pipeline's value in the declared variable", text: "{{range $x := .Empty}}x{{else}}{{len $x}}{{end}}", want: "0" },
  { name: "assigns to outer variables with =", text: `{{$v := ""}}{{range $v = .List}}{{end}}{{$v}}`, want: "c" },
  { name: "assigns index and element to outer variables with =", text: `{{$i := 0}}{{$e := ""}}{{range $i, $e = .List}}{{end}}{{$i}}{{$e}}`, want: "2c" },
  { name: "stops a range at break", text: `{{range .List}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}`, want: "a" },
  { name: "skips the rest at continue", text: `{{range .List}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}`, want: "ac" },
  { name: "breaks only the innermost range", text: `{{range .List}}{{range $.List}}{{break}}{{end}}{{.}}{{end}}`, want: "abc" },
  { name: "reads fields of range elements", text: "{{range .Rows}}{{.name}}:{{.port}} {{end}}", want: "x:22 y:80 " },
  { name: "starts each iteration with fresh variables", text: "{{range .List}}{{$y := .}}{{$y}}{{end}}", want: "abc" },
])("expandGoTemplate() $name", ({ text, want }) => {
  expect(render(text)).toBe(want);
});

test("expandGoTemplate() ranges over map keys in Go's byte order", () => {
  const keys = { "\u{FF01}": 1, "\u{1F600}": 2, Z: 3, a: 4 };
  expect(renderWithValue("{{range $k, $v := .V}}{{$v}}{{end}}", keys)).toBe("3412");
});

// Variables.
test.each([
  { name: "declares and assigns variables", text: "{{$x := 1}}{{$x = 2}}{{$x}}", want: "2" },
  { name: "prints nothing for a declaration", text: "a{{$x := 1}}b", want: "ab" },
  { name: "assigns an outer variable from an inner scope", text: "{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", want: "2" },
  { name: "shadows an outer variable until the end of the scope", text: "{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", want: "21" },
  { name: "assigns from inside a range", text: `{{$last := ""}}{{range .List}}{{$last = .}}{{end}}{{$last}}`, want: "c" },
  { name: "reads fields through a variable", text: "{{$c := .Config}}{{$c.Memory}}", want: "4GiB" },
  { name: "reads fields through $", text: "{{$.Instance.Name}}", want: "default" },
])("expandGoTemplate() $name", ({ text, want }) => {
  expect(render(text)).toBe(want);
});

// Missing keys.
test.each([
  { mode: "default" as MissingKeyMode, want: "<no value>/<no value>/<no value>" },
  { mode: "zero" as MissingKeyMode, want: "//" },
])("expandGoTemplate() renders a missing key in $mode mode", ({ mode, want }) => {
  expect(render("{{.Nope}}/{{.Param.NOPE}}/{{index .Map `nope`}}", { missingKey: mode })).toBe(want);
});

test.each([
  { name: "a field of a missing key reads as missing again in default mode", text: "{{.Nope.Deeper.Still}}", mode: "default" as MissingKeyMode, want: "<no value>" },
  { name: "with skips a missing key in default mode", text: "{{with .Nope}}x{{else}}none{{end}}", mode: "default" as MissingKeyMode, want: "none" },
  { name: "range skips a missing key in default mode", text: "{{range .Nope}}x{{else}}none{{end}}", mode: "default" as MissingKeyMode, want: "none" },
  { name: "index of a missing map key is nil in error mode too", text: "{{index .Map `nope`}}", mode: "error" as MissingKeyMode, want: "<no value>" },
])("expandGoTemplate(): $name", ({ text, mode, want }) => {
  expect(render(text, { missingKey: mode })).toBe(want);
});

test.each([
  {
    name: "a missing top-level key",
    text: "{{.Nope}}",
    message: 'Cannot expand template "{{.Nope}}" at column 3: map has no entry for key "Nope"',
    hint: "available keys: Config, Dir, Empty, EmptyMap, Flag, Home, Instance, List, Map, Name, Nothing, Param, Ratio, Rows, SSHLocalPort, Status, UID, Zero",
  },
  {
    name: "a missing parameter",
    text: "{{ .Param.DOCKR }}",
    message: 'Cannot expand template "{{ .Param.DOCKR }}" at column 4: map has no entry for key "DOCKR"',
    hint: 'available keys of .Param: DOCKER, EMPTY (did you mean "DOCKER"?)',
  },
  { name: "a key of an empty map", text: "{{ .EmptyMap.X }}", message: 'Cannot expand template "{{ .EmptyMap.X }}" at column 4: map has no entry for key "X"', hint: '".EmptyMap" has no keys' },
  {
    name: "an argument to a field",
    text: '{{ "x" | .Name }}',
    message: 'Cannot expand template "{{ \\"x\\" | .Name }}" at column 10: can\'t give argument to non-function .Name',
  },
  { name: "a field of a string", text: "{{ .Name.First }}", message: 'Cannot expand template "{{ .Name.First }}" at column 4: can\'t evaluate field First in type string' },
])("expandGoTemplate() rejects $name", ({ text, message, hint }) => {
  const failure = renderFailure(text);
  expect(failure.message).toBe(message);
  if (hint !== undefined) expect(failure.hint).toBe(hint);
});

test.each([
  { text: "{{.Nothing.X}}", reason: "nil pointer evaluating .Nothing.X" },
  { text: "{{.List.X}}", reason: "can't evaluate field X in type []interface {}" },
  { text: "{{.UID.X}}", reason: "can't evaluate field X in type int" },
  { text: "{{$x := 1}}{{$x.Y}}", reason: "can't evaluate field Y in type int" },
  { text: "{{$x = 1}}", reason: "undefined variable: $x" },
  { text: "{{1 2}}", reason: "can't give argument to non-function 1" },
  { text: "{{.Name 2}}", reason: "can't give argument to non-function .Name" },
  { text: "{{range .Name}}{{end}}", reason: "range can't iterate over default" },
  { text: "{{range .Flag}}{{end}}", reason: "range can't iterate over false" },
])("expandGoTemplate() rejects $text: $reason", ({ text, reason }) => {
  expect(failureReason(text)).toBe(reason);
});

test("expandGoTemplate() keeps the data unchanged", () => {
  const before = JSON.stringify(data);
  render(`{{$x := .List}}{{range $i, $e := .Rows}}{{$e.name}}{{end}}{{$x = 1}}`);
  expect(JSON.stringify(data)).toBe(before);
});
