import { expect, test } from "bun:test";
import { type Item, lexTemplate, type Token } from "../../../lib/gotemplate/lex-template.ts";
import { TemplateFailure } from "../../../lib/gotemplate/template-failure.ts";
import { caughtError } from "../../support/caught-den-error.ts";
import { failureReason, render, renderFailure } from "./support/template-data.ts";

/** A token as `kind:value`, prefixed with `^` when no space separates it from the one before. */
function shape(token: Token): string {
  const glued = token.spaced ? "" : "^";
  switch (token.t) {
    case "field":
    case "var":
    case "ident":
      return `${glued}${token.t}:${token.name}`;
    case "string":
      return `${glued}string:${JSON.stringify(token.value)}`;
    case "number":
    case "bool":
      return `${glued}${token.t}:${token.value}`;
    default:
      return `${glued}${token.t}`;
  }
}

function shapes(items: Item[]): string[] {
  return items.map((item) => (item.kind === "text" ? `text:${JSON.stringify(item.text)}` : item.tokens.map(shape).join(" ")));
}

test.each([
  { name: "splits text and actions", text: "a{{.B}}c", want: ['text:"a"', "field:B", 'text:"c"'] },
  { name: "glues a field chain", text: "{{.A.B $x.C}}", want: ["field:A ^field:B var:$x ^field:C"] },
  { name: "reads dot and root", text: "{{. $}}", want: ["dot var:$"] },
  { name: "reads a declaration", text: "{{$x := 1}}", want: ["var:$x declare number:1"] },
  { name: "reads a range declaration and an assignment", text: "{{$i, $e := .}}{{$i = 2}}", want: ["var:$i ^comma var:$e declare dot", "var:$i assign number:2"] },
  { name: "reads pipes and parentheses", text: "{{ f (g) | h }}", want: ["ident:f lparen ^ident:g ^rparen pipe ident:h"] },
  { name: "reads Go's number forms", text: "{{0x1F 0o17 0b101 1_000 -3 .5 1e3 +7}}", want: ["number:31 number:15 number:5 number:1000 number:-3 number:0.5 number:1000 number:7"] },
  { name: "reads a character constant as its code point", text: "{{'a' '\\n' '\\''}}", want: ["number:97 number:10 number:39"] },
  { name: "reads booleans and nil", text: "{{true false nil}}", want: ["bool:true bool:false nil"] },
  { name: "decodes Go string escapes", text: '{{"\\u00e9\\x41\\101\\U0001F600\\a\\v"}}', want: ['string:"éAA😀\\u0007\\u000b"'] },
  { name: "keeps a raw string as written, across lines", text: "{{`a\\n\nb`}}", want: ['string:"a\\\\n\\nb"'] },
  { name: "reads }} inside a string as part of it", text: '{{"}}"}}', want: ['string:"}}"'] },
  { name: "trims white space around trim markers", text: "a \n\t{{- .X -}} \r\n b", want: ['text:"a"', "field:X", 'text:"b"'] },
  { name: "reads {{-3}} as a number, not a trim marker", text: "a {{-3}}", want: ['text:"a "', "number:-3"] },
  { name: "drops a comment", text: "a{{/* x\n y */}}b", want: ['text:"a"', 'text:"b"'] },
  { name: "trims around a comment", text: "a {{- /* x */ -}} b", want: ['text:"a"', 'text:"b"'] },
  { name: "keeps lone braces as text", text: "a { b } }} c", want: ['text:"a { b } }} c"'] },
])("lexTemplate() $name", ({ text, want }) => {
  expect(shapes(lexTemplate(text))).toEqual([...want]);
});

test.each([
  { text: "ab {{ .Name", message: "unclosed action", pos: 3 },
  { text: "{{/* x }}", message: "unclosed comment", pos: 0 },
  { text: "{{/* x */ .A}}", message: "comment ends before closing delimiter", pos: 7 },
  // Go reads a comment only right after the delimiter or its trim marker.
  { text: "{{ /* x */ }}", message: 'unexpected "/" in action', pos: 3 },
  { text: '{{ "abc }}', message: "unterminated quoted string", pos: 3 },
  { text: "{{ `abc }}", message: "unterminated raw quoted string", pos: 3 },
  { text: "{{ 'ab' }}", message: "malformed character constant: 'ab'", pos: 3 },
  { text: '{{ "\\q" }}', message: 'invalid escape "\\q" in string', pos: 3 },
  { text: '{{ "\\x4" }}', message: 'invalid escape "\\x4" in string', pos: 3 },
  { text: "{{ .Name & 1 }}", message: 'unexpected "&" in action', pos: 9 },
  { text: "{{ .Name-}}", message: 'bad number syntax: "-}}"', pos: 8 },
])("lexTemplate() rejects $text with $message", ({ text, message, pos }) => {
  const error = caughtError(() => lexTemplate(text), TemplateFailure);
  expect(error.message).toBe(message);
  expect(error.pos).toBe(pos);
});

test.each([
  { name: "copies literal text", text: "plain text, no actions", want: "plain text, no actions" },
  { name: "trims whitespace on the left", text: "a \n\t {{- .Name}}", want: "adefault" },
  { name: "trims whitespace on the right", text: "{{.Name -}} \n b", want: "defaultb" },
  { name: "trims a block's lines as Go does", text: "line1\n{{- if true }}\nx\n{{- end }}\n", want: "line1\nx\n" },
  { name: "treats {{-3}} as a number, not a trim marker", text: "{{-3}}", want: "-3" },
  { name: "drops comments", text: "a{{/* a comment */}}b", want: "ab" },
  { name: "trims around comments", text: "a {{- /* c */ -}} b", want: "ab" },
  { name: "prints string, number and bool literals", text: `{{"q\\tx"}} {{42}} {{true}} {{0x1F}} {{'a'}}`, want: "q\tx 42 true 31 97" },
  { name: "reads a raw string", text: "{{`a\\nb`}}", want: "a\\nb" },
  { name: "leaves a text without actions unchanged even when it has braces", text: "a { b } }} c", want: "a { b } }} c" },
])("expandGoTemplate() $name", ({ text, want }) => {
  expect(render(text)).toBe(want);
});

test.each([
  { name: "an unterminated action", text: "ab {{ .Name", message: 'Cannot expand template "ab {{ .Name" at column 4: unclosed action' },
  { name: "an unterminated comment", text: "{{/* x }}", message: 'Cannot expand template "{{/* x }}" at column 1: unclosed comment' },
  { name: "an unterminated string", text: '{{ "abc }}', message: 'Cannot expand template "{{ \\"abc }}" at column 4: unterminated quoted string' },
  { name: "an unknown character", text: "{{ .Name & 1 }}", message: 'Cannot expand template "{{ .Name & 1 }}" at column 10: unexpected "&" in action' },
])("expandGoTemplate() rejects $name", ({ text, message }) => {
  expect(renderFailure(text).message).toBe(message);
});

test("expandGoTemplate() rejects a comment that does not follow the delimiter", () => {
  expect(failureReason("a{{ /* c */ }}b")).toBe('unexpected "/" in action');
});
