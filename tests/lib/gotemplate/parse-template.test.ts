import { expect, test } from "bun:test";
import { lexTemplate } from "../../../lib/gotemplate/lex-template.ts";
import { type Node, type Operand, type Pipeline, parseTemplate } from "../../../lib/gotemplate/parse-template.ts";
import { TemplateFailure } from "../../../lib/gotemplate/template-failure.ts";
import { renderFailure } from "./support/template-data.ts";

const functions: ReadonlySet<string> = new Set(["f", "g", "len", "printf"]);

function parse(text: string): Node[] {
  return parseTemplate(lexTemplate(text), { functions });
}

/** The tree written back compactly: `if .A [“a”] else [...]`, pipelines as `$x := f .A | g`. */
function show(nodes: Node[]): string {
  return nodes.map(showNode).join(" ");
}

function showNode(node: Node): string {
  switch (node.kind) {
    case "text":
      return JSON.stringify(node.text);
    case "action":
      return `{${showPipe(node.pipe)}}`;
    case "break":
    case "continue":
      return node.kind;
    default:
      return `${node.kind} ${showPipe(node.pipe)} [${show(node.list)}]${node.elseList.length > 0 ? ` else [${show(node.elseList)}]` : ""}`;
  }
}

function showPipe(pipe: Pipeline): string {
  const decl = pipe.decl.length > 0 ? `${pipe.decl.join(", ")} ${pipe.assign ? "=" : ":="} ` : "";
  return decl + pipe.cmds.map((cmd) => cmd.args.map(showOperand).join(" ")).join(" | ");
}

function showOperand(operand: Operand): string {
  switch (operand.kind) {
    case "field":
      return `.${operand.chain.join(".")}`;
    case "var":
      return [operand.name, ...operand.chain].join(".");
    case "sub":
      return `(${showPipe(operand.pipe)})${operand.chain.map((name) => `.${name}`).join("")}`;
    case "func":
      return operand.name;
    case "literal":
      return JSON.stringify(operand.value);
    case "nil":
      return "nil";
  }
}

test.each<{ name: string; text: string; want: string }>([
  { name: "keeps text and actions in order", text: "a{{.B}}c", want: '"a" {.B} "c"' },
  { name: "reads a field chain, dot and root", text: "{{.A.B}}{{.}}{{$.C}}", want: "{.A.B} {.} {$.C}" },
  { name: "reads a pipeline with arguments", text: `{{.A | f "s" 1 | g}}`, want: '{.A | f "s" 1 | g}' },
  { name: "reads a parenthesized pipeline and its fields", text: "{{(f .A).B.C}}", want: "{(f .A).B.C}" },
  { name: "reads a declaration and an assignment", text: "{{$x := f}}{{$x = 2}}", want: "{$x := f} {$x = 2}" },
  { name: "reads if, else if and else as nested ifs", text: "{{if .A}}a{{else if .B}}b{{else}}c{{end}}", want: 'if .A ["a"] else [if .B ["b"] else ["c"]]' },
  { name: "reads with and else with as nested withs", text: "{{with .A}}a{{else with .B}}b{{end}}", want: 'with .A ["a"] else [with .B ["b"]]' },
  // Go chains only the control's own keyword: here the {{with}} needs its own {{end}}.
  { name: "reads else with inside an if as a nested with", text: "{{if .A}}a{{else with .B}}b{{end}}c{{end}}", want: 'if .A ["a"] else [with .B ["b"] "c"]' },
  { name: "reads else if inside a range as a nested if", text: "{{range .A}}a{{else if .B}}b{{end}}{{end}}", want: 'range .A ["a"] else [if .B ["b"]]' },
  { name: "reads range declarations, break and continue", text: "{{range $i, $e := .A}}{{break}}{{continue}}{{end}}", want: "range $i, $e := .A [break continue]" },
  { name: "keeps a variable of an if in scope in its else", text: "{{if $x := .A}}{{else}}{{$x}}{{end}}", want: "if $x := .A [] else [{$x}]" },
  { name: "keeps a variable of an outer if in an else if", text: "{{if $x := .A}}{{else if .B}}{{$x}}{{end}}", want: "if $x := .A [] else [if .B [{$x}]]" },
  { name: "reads parentheses nested 1000 deep", text: `{{${"(".repeat(1000)}.A${")".repeat(1000)}}}`, want: `{${"(".repeat(1000)}.A${")".repeat(1000)}}` },
  { name: "keeps a redeclared variable", text: "{{$x := 1}}{{$x := 2}}{{$x}}", want: "{$x := 1} {$x := 2} {$x}" },
])("parseTemplate() $name", ({ text, want }) => {
  expect(show(parse(text))).toBe(want);
});

test.each<{ text: string; message: string }>([
  { text: "{{}}", message: "missing value for command" },
  { text: "{{if}}{{end}}", message: "missing value for if" },
  { text: "{{range}}{{end}}", message: "missing value for range" },
  { text: "{{with}}{{end}}", message: "missing value for with" },
  { text: "{{f (.A | )}}", message: "missing command in pipeline" },
  { text: "{{if .A}}x", message: "unexpected EOF: {{if}} has no matching {{end}}" },
  { text: "{{if .A}}x{{else}}y", message: "unexpected EOF: {{if}} has no matching {{end}}" },
  { text: "{{if .A}}a{{else with .B}}b{{end}}", message: "unexpected EOF: {{if}} has no matching {{end}}" },
  { text: "x{{end}}", message: "unexpected {{end}}" },
  { text: "{{else}}", message: "unexpected {{else}}" },
  { text: "{{if .A}}{{else}}{{else}}{{end}}", message: "expected end; found {{else}}" },
  { text: "{{if .A}}{{end .B}}", message: "unexpected words after end" },
  { text: "{{if .A}}{{else .B}}{{end}}", message: "unexpected words after else" },
  { text: "{{break}}", message: "{{break}} outside {{range}}" },
  { text: "{{range .A}}{{else}}{{continue}}{{end}}", message: "{{continue}} outside {{range}}" },
  { text: "{{range .A}}{{break 1}}{{end}}", message: "unexpected words after break" },
  { text: "{{$x}}", message: 'undefined variable "$x"' },
  // As in Go, a variable is checked when the template is parsed, so an unused branch fails too.
  { text: "{{if false}}{{$x}}{{end}}", message: 'undefined variable "$x"' },
  { text: "{{if true}}{{$x := 1}}{{end}}{{$x}}", message: 'undefined variable "$x"' },
  { text: "{{range $i, $e := .A}}{{end}}{{$e}}", message: 'undefined variable "$e"' },
  { text: "{{with $x := .A}}{{end}}{{$x}}", message: 'undefined variable "$x"' },
  { text: "{{$a, $b := .A}}", message: "too many declarations in command" },
  { text: "{{range $a, $b, $c := .A}}{{end}}", message: "too many declarations in range" },
  { text: "{{.A | }}", message: "missing command in pipeline" },
  { text: "{{| .A}}", message: "missing command in pipeline" },
  { text: "{{.A | 1}}", message: "non executable command in pipeline stage" },
  { text: "{{nil}}", message: "nil is not a command" },
  { text: "{{(.A}}", message: "unclosed left paren" },
  { text: "{{.A)}}", message: "unexpected right paren" },
  { text: "{{nope .A}}", message: 'function "nope" not defined' },
  { text: "{{if false}}{{nope}}{{end}}", message: 'function "nope" not defined' },
  { text: '{{"a".B}}', message: 'unexpected ".B" after a literal' },
  { text: "{{len.A}}", message: 'unexpected ".A" after a function name' },
  { text: "{{..A}}", message: 'unexpected ".A" after "."' },
  { text: '{{printf "%s""x"}}', message: "missing space between arguments" },
  { text: "{{f := 1}}", message: 'unexpected ":=" in operand' },
  { text: "{{f ()}}", message: "missing value for parenthesized pipeline" },
  { text: `{{${"(".repeat(1001)}.A${")".repeat(1001)}}}`, message: "max expression depth exceeded" },
  { text: `${"{{if .A}}".repeat(1001)}${"{{end}}".repeat(1001)}`, message: "max nesting depth exceeded: more than 1000 blocks inside each other" },
  { text: '{{define "x"}}{{end}}', message: '"define" actions are not supported' },
  { text: '{{template "x"}}', message: '"template" actions are not supported' },
])("parseTemplate() rejects a template with $message", ({ text, message }) => {
  expect(() => parse(text)).toThrow(TemplateFailure);
  expect(() => parse(text)).toThrow(message);
});

test.each([
  { name: "an if without end", text: "{{if .Flag}}x", message: 'Cannot expand template "{{if .Flag}}x" at column 3: unexpected EOF: {{if}} has no matching {{end}}' },
  { name: "a stray end", text: "x{{end}}", message: 'Cannot expand template "x{{end}}" at column 4: unexpected {{end}}' },
  { name: "an empty pipeline stage", text: "{{ .Name | }}", message: 'Cannot expand template "{{ .Name | }}" at column 10: missing command in pipeline' },
  { name: "break outside range", text: "{{break}}", message: 'Cannot expand template "{{break}}" at column 3: {{break}} outside {{range}}' },
  { name: "an undefined variable", text: "{{ $x }}", message: 'Cannot expand template "{{ $x }}" at column 4: undefined variable "$x"' },
  { name: "an unsupported define", text: '{{define "x"}}{{end}}', message: 'Cannot expand template "{{define \\"x\\"}}{{end}}" at column 3: "define" actions are not supported' },
])("expandGoTemplate() rejects $name", ({ text, message }) => {
  expect(renderFailure(text).message).toBe(message);
});

test.each([
  { name: "a slip of a letter", text: "{{ lenn .List }}", message: 'Cannot expand template "{{ lenn .List }}" at column 4: function "lenn" not defined', hint: 'did you mean "len"?' },
  {
    name: "a function den leaves out",
    text: "{{ slice .List 1 }}",
    message: 'Cannot expand template "{{ slice .List 1 }}" at column 4: function "slice" not defined',
    hint: "available functions: and, eq, ge, gt, indent, index, json, le, len, lt, missing, ne, not, or, print, printf, println, yaml",
  },
])("expandGoTemplate() rejects an unknown function: $name", ({ text, message, hint }) => {
  const failure = renderFailure(text);
  expect(failure.message).toBe(message);
  expect(failure.hint).toBe(hint);
});
