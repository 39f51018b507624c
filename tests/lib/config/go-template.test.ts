import { describe, expect, test } from "bun:test";
import { DenError } from "../../../lib/errors.ts";
import { expandGoTemplate, type MissingKeyMode } from "../../../lib/config/go-template.ts";

const data: Record<string, unknown> = {
  Home: "/home/alice",
  Name: "default",
  UID: 501,
  Dir: "/Users/alice/.lima/default",
  Param: { DOCKER: "yes", EMPTY: "" },
  Instance: { Dir: "/Users/alice/.lima/default", Name: "default" },
  List: ["a", "b", "c"],
  Empty: [],
  Map: { zeta: 1, alpha: 2 },
  Rows: [
    { name: "x", port: 22 },
    { name: "y", port: 80 },
  ],
  Ratio: 1.5,
  Flag: false,
  Nothing: null,
};

describe("expandGoTemplate()", () => {
  test.each([
    { name: "copies literal text", text: "plain text, no actions", want: "plain text, no actions" },
    { name: "expands a field", text: "{{.Home}}/work", want: "/home/alice/work" },
    { name: "expands a field with spaces inside the action", text: "{{ .Name }}", want: "default" },
    { name: "expands a parameter", text: "{{.Param.DOCKER}}", want: "yes" },
    { name: "expands a nested field", text: "{{.Instance.Dir}}/sock", want: "/Users/alice/.lima/default/sock" },
    { name: "prints a number field", text: "uid={{.UID}}", want: "uid=501" },
    { name: "prints a float like Go", text: "{{.Ratio}} {{1234567.5}} {{0.00001}}", want: "1.5 1.2345675e+06 1e-05" },
    { name: "prints a list like Go", text: "{{.List}}", want: "[a b c]" },
    { name: "prints a map with sorted keys like Go", text: "{{.Map}}", want: "map[alpha:2 zeta:1]" },
    { name: "prints a null field as <no value>", text: "{{.Nothing}}", want: "<no value>" },
    { name: "trims whitespace on the left", text: "a \n\t {{- .Name}}", want: "adefault" },
    { name: "trims whitespace on the right", text: "{{.Name -}} \n b", want: "defaultb" },
    { name: "treats {{-3}} as a number, not a trim marker", text: "{{-3}}", want: "-3" },
    { name: "drops comments", text: "a{{/* a comment */}}b", want: "ab" },
    { name: "trims around comments", text: "a {{- /* c */ -}} b", want: "ab" },
    { name: "reads the root with $", text: "{{range .List}}{{$.Name}}{{end}}", want: "defaultdefaultdefault" },
    { name: "prints string, number and bool literals", text: `{{"q\\tx"}} {{42}} {{true}} {{0x1F}} {{'a'}}`, want: "q\tx 42 true 31 97" },
    { name: "reads a raw string", text: "{{`a\\nb`}}", want: "a\\nb" },
    { name: "passes a pipeline value as the last argument", text: `{{.Name | printf "%s!"}}`, want: "default!" },
    { name: "evaluates a parenthesized pipeline", text: `{{printf "%s/%s" .Home (index .List 1)}}`, want: "/home/alice/b" },
    { name: "reads a field of a parenthesized pipeline", text: `{{(index .Rows 1).name}}`, want: "y" },
    { name: "formats %s %d %v %q", text: `{{printf "%s %d %v %q" .Name .UID .List .Name}}`, want: 'default 501 [a b c] "default"' },
    { name: "formats width, padding and %%", text: `{{printf "%-5s|%5d|%05d|%%" "ab" 42 7}}`, want: "ab   |   42|00007|%" },
    { name: "marks a wrong printf verb as Go does", text: `{{printf "%d %s" "x"}}`, want: "%!d(string=x) %!s(MISSING)" },
    { name: "marks extra printf arguments as Go does", text: `{{printf "a" 1}}`, want: "a%!(EXTRA int=1)" },
    { name: "takes the if branch", text: `{{if eq .Name "default"}}yes{{end}}`, want: "yes" },
    { name: "takes the else branch", text: `{{if .Flag}}yes{{else}}no{{end}}`, want: "no" },
    { name: "takes an else if branch", text: `{{if .Flag}}a{{else if .Empty}}b{{else if .List}}c{{else}}d{{end}}`, want: "c" },
    { name: "treats empty strings, zero, nil and empty lists as false", text: `{{if or .Param.EMPTY 0 .Nothing .Empty}}t{{else}}f{{end}}`, want: "f" },
    { name: "ranges over a list", text: "{{range .List}}<{{.}}>{{end}}", want: "<a><b><c>" },
    { name: "ranges with index and element variables", text: "{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", want: "0=a 1=b 2=c " },
    { name: "ranges over a map in key order", text: "{{range $k, $v := .Map}}{{$k}}:{{$v}},{{end}}", want: "alpha:2,zeta:1," },
    { name: "ranges over an integer", text: "{{range 3}}{{.}}{{end}}", want: "012" },
    { name: "runs range else for an empty list", text: "{{range .Empty}}x{{else}}none{{end}}", want: "none" },
    { name: "stops a range at break", text: `{{range .List}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}`, want: "a" },
    { name: "skips the rest at continue", text: `{{range .List}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}`, want: "ac" },
    { name: "reads fields of range elements", text: "{{range .Rows}}{{.name}}:{{.port}} {{end}}", want: "x:22 y:80 " },
    { name: "moves dot with with", text: "{{with .Instance}}{{.Name}}{{end}}", want: "default" },
    { name: "runs with else for an empty value", text: "{{with .Param.EMPTY}}x{{else}}empty{{end}}", want: "empty" },
    { name: "runs else with", text: "{{with .Flag}}a{{else with .Name}}{{.}}{{end}}", want: "default" },
    { name: "declares and assigns variables", text: "{{$x := 1}}{{$x = 2}}{{$x}}", want: "2" },
    { name: "compares with ne lt le gt ge", text: "{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge \"b\" \"a\"}}", want: "true true true false true" },
    { name: "eq matches any of several arguments", text: `{{eq .Name "x" "default"}}`, want: "true" },
    { name: "and/or return the deciding argument", text: `{{and 1 "" 3}}|{{or 0 "x"}}|{{not .Flag}}`, want: "|x|true" },
    { name: "measures len of a string, list and map", text: "{{len .Name}} {{len .List}} {{len .Map}}", want: "7 3 2" },
    { name: "indexes a list and a map", text: `{{index .List 2}} {{index .Map "alpha"}} {{index .Rows 0 "port"}}`, want: "c 2 22" },
    { name: "json encodes a value", text: "{{json .Rows}}", want: '[{"name":"x","port":22},{"name":"y","port":80}]' },
    { name: "yaml encodes a value after a document marker", text: "{{yaml .Instance}}", want: "---\nDir: /Users/alice/.lima/default\nName: default" },
    { name: "indent defaults to two spaces and skips empty lines", text: `{{"a\\n\\nb" | indent}}`, want: "  a\n\n  b" },
    { name: "indent takes a size", text: `{{indent 4 "a\\nb"}}`, want: "    a\n    b" },
    { name: "missing replaces an empty string", text: `{{.Param.EMPTY | missing "unset"}} {{.Name | missing}}`, want: "unset default" },
    { name: "missing has a default message", text: `{{missing ""}}`, want: "<missing>" },
    { name: "print and println join like Go", text: `{{print "a" 1 2 "b"}}|{{println 1 "x"}}`, want: "a1 2b|1 x\n" },
  ])("$name", ({ text, want }) => {
    expect(expandGoTemplate(text, data)).toBe(want);
  });

  test.each([
    { mode: "default" as MissingKeyMode, want: "<no value>/<no value>" },
    { mode: "zero" as MissingKeyMode, want: "/" },
  ])("expandGoTemplate() renders a missing key in $mode mode", ({ mode, want }) => {
    expect(expandGoTemplate("{{.Nope}}/{{.Param.NOPE}}", data, { missingKey: mode })).toBe(want);
  });

  test.each([
    {
      name: "a missing top-level key",
      text: "{{.Nope}}",
      message: 'Cannot expand template "{{.Nope}}" at column 3: map has no entry for key "Nope"',
      hint: "available keys: Dir, Empty, Flag, Home, Instance, List, Map, Name, Nothing, Param, Ratio, Rows, UID",
    },
    {
      name: "a missing parameter",
      text: "{{ .Param.DOCKR }}",
      message: 'Cannot expand template "{{ .Param.DOCKR }}" at column 4: map has no entry for key "DOCKR"',
      hint: 'available keys of .Param: DOCKER, EMPTY (did you mean "DOCKER"?)',
    },
    {
      name: "an unknown function",
      text: "{{ lenn .List }}",
      message: 'Cannot expand template "{{ lenn .List }}" at column 4: function "lenn" not defined',
      hint: 'did you mean "len"?',
    },
    { name: "an unterminated action", text: "ab {{ .Name", message: 'Cannot expand template "ab {{ .Name" at column 4: unclosed action' },
    { name: "an unterminated comment", text: "{{/* x }}", message: 'Cannot expand template "{{/* x }}" at column 1: unclosed comment' },
    { name: "an unterminated string", text: '{{ "abc }}', message: 'Cannot expand template "{{ \\"abc }}" at column 4: unterminated quoted string' },
    { name: "an if without end", text: "{{if .Flag}}x", message: 'Cannot expand template "{{if .Flag}}x" at column 3: unexpected EOF: {{if}} has no matching {{end}}' },
    { name: "a stray end", text: "x{{end}}", message: 'Cannot expand template "x{{end}}" at column 4: unexpected {{end}}' },
    { name: "an empty pipeline stage", text: "{{ .Name | }}", message: 'Cannot expand template "{{ .Name | }}" at column 10: missing command in pipeline' },
    { name: "an argument to a field", text: '{{ "x" | .Name }}', message: 'Cannot expand template "{{ \\"x\\" | .Name }}" at column 10: can\'t give argument to non-function .Name' },
    { name: "an unknown character", text: "{{ .Name & 1 }}", message: 'Cannot expand template "{{ .Name & 1 }}" at column 10: unexpected "&" in action' },
    { name: "a field of a string", text: "{{ .Name.First }}", message: 'Cannot expand template "{{ .Name.First }}" at column 4: can\'t evaluate field First in type string' },
    { name: "a failing function", text: "{{ index .List 9 }}", message: 'Cannot expand template "{{ index .List 9 }}" at column 4: error calling index: index out of range: 9' },
    { name: "an incompatible comparison", text: '{{ eq 1 "1" }}', message: 'Cannot expand template "{{ eq 1 \\"1\\" }}" at column 4: error calling eq: incompatible types for comparison' },
    { name: "break outside range", text: "{{break}}", message: 'Cannot expand template "{{break}}" at column 3: {{break}} outside {{range}}' },
    { name: "an undefined variable", text: "{{ $x }}", message: 'Cannot expand template "{{ $x }}" at column 4: undefined variable "$x"' },
    { name: "an unsupported define", text: '{{define "x"}}{{end}}', message: 'Cannot expand template "{{define \\"x\\"}}{{end}}" at column 3: "define" actions are not supported' },
  ])("expandGoTemplate() rejects $name", ({ text, message, hint }) => {
    let caught: unknown;
    try {
      expandGoTemplate(text, data);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DenError);
    expect((caught as DenError).code).toBe("TEMPLATE_EXPR");
    expect((caught as DenError).message).toBe(message);
    if (hint !== undefined) expect((caught as DenError).hint).toBe(hint);
  });

  test("expandGoTemplate() names the line, the field and the offending line of a multi-line template", () => {
    const text = "#!/bin/sh\necho {{.Home}}\necho {{ .Param.NOPE }}\n";
    try {
      expandGoTemplate(text, data, { name: "provision[0].script" });
      throw new Error("expected an error");
    } catch (error) {
      expect((error as DenError).message).toBe(
        'Cannot expand template in provision[0].script "echo {{ .Param.NOPE }}" at line 3, column 9: map has no entry for key "NOPE"',
      );
      expect((error as DenError).details).toMatchObject({ template: text, line: 3, column: 9, key: "NOPE" });
    }
  });

  test("expandGoTemplate() leaves a text without actions unchanged even when it has braces", () => {
    expect(expandGoTemplate("a { b } }} c", data)).toBe("a { b } }} c");
  });
});
