import { expect, test } from "bun:test";
import { goQuote, sprintf } from "../../../lib/gotemplate/sprintf.ts";

test.each([
  { format: "%s", args: ["x"], want: "x" },
  { format: "%v %v %v", args: ["x", 1, true], want: "x 1 true" },
  { format: "%d", args: [42], want: "42" },
  { format: "%5d|%-5d|%05d", args: [42, 42, 42], want: "   42|42   |00042" },
  { format: "%+d %+d", args: [5, -5], want: "+5 -5" },
  { format: "%05d", args: [-42], want: "-0042" },
  { format: "%x %X %o %b", args: [255, 255, 8, 5], want: "ff FF 10 101" },
  { format: "%x", args: [-255], want: "-ff" },
  { format: "%x", args: ["hi"], want: "6869" },
  { format: "%c%c", args: [65, 0x1f600], want: "A😀" },
  { format: "%t %t", args: [true, false], want: "true false" },
  { format: "%f %.2f %8.3f", args: [1.5, 3.14159, 2], want: "1.500000 3.14    2.000" },
  { format: "%6.2f|%06.2f|%+.1f", args: [-1.5, -1.5, 2], want: " -1.50|-01.50|+2.0" },
  { format: "%e %.2e", args: [1234.5678, 0.000123], want: "1.234568e+03 1.23e-04" },
  { format: "%.3s|%5s|%-3s|", args: ["héllo", "é", "😀"], want: "hél|    é|😀  |" },
  { format: "%-8s|%8s|", args: ["ab", "ab"], want: "ab      |      ab|" },
  { format: "%v", args: [1.5], want: "1.5" },
  { format: "%v", args: [1000000.5], want: "1.0000005e+06" },
  { format: "%v", args: [[1, "a", [true]]], want: "[1 a [true]]" },
  { format: "%s", args: [["a", "b"]], want: "[a b]" },
  { format: "%q", args: [["a", "b"]], want: '["a" "b"]' },
  { format: "%d", args: [[1, 2]], want: "[1 2]" },
  { format: "%v", args: [{ b: 1, a: { c: null } }], want: "map[a:map[c:<nil>] b:1]" },
  { format: "%s", args: [{ a: 1, b: "x" }], want: "map[a:%!s(int=1) b:x]" },
  { format: "%d", args: ["x"], want: "%!d(string=x)" },
  { format: "%d", args: [1.5], want: "%!d(float64=1.5)" },
  { format: "%s", args: [1], want: "%!s(int=1)" },
  { format: "%s", args: [null], want: "%!s(<nil>)" },
  { format: "%v", args: [null], want: "<nil>" },
  { format: "%t", args: ["true"], want: "%!t(string=true)" },
  { format: "%z", args: [1], want: "%!z(int=1)" },
  { format: "%d %d", args: [1], want: "1 %!d(MISSING)" },
  { format: "%d", args: [1, "x", 2], want: "1%!(EXTRA string=x, int=2)" },
  { format: "100%%", args: [], want: "100%" },
  { format: "a%", args: [], want: "a%!(NOVERB)" },
  { format: "no verbs", args: [], want: "no verbs" },
  { format: "%0999999999d|", args: [1], want: "%!(NOVERB)%!(EXTRA int=1)" },
  { format: "%.99999999s|", args: ["x"], want: "%!(NOVERB)%!(EXTRA string=x)" },
  { format: "%1000001d", args: [1], want: `${" ".repeat(1000000)}1` },
])("sprintf($format) formats as Go's fmt does: $want", ({ format, args, want }) => {
  expect(sprintf(format, [...args])).toBe(want);
});

test.each([
  { name: "a plain string", text: "default", want: '"default"' },
  { name: "quotes and backslashes", text: 'a"b\\c', want: '"a\\"b\\\\c"' },
  { name: "Go's short escapes", text: "\x07\b\f\n\r\t\v", want: '"\\a\\b\\f\\n\\r\\t\\v"' },
  { name: "other ASCII controls and DEL as \\x", text: "\x01\x1b\x7f", want: '"\\x01\\x1b\\x7f"' },
  { name: "printable Unicode as it is", text: "héllo ✓ 😀", want: '"héllo ✓ 😀"' },
  { name: "unprintable Unicode as \\u", text: "\u00a0\u2028\u200b", want: '"\\u00a0\\u2028\\u200b"' },
  { name: "a single quote inside double quotes", text: "it's", want: '"it\'s"' },
])("goQuote() quotes $name as strconv.Quote does", ({ text, want }) => {
  expect(goQuote(text, '"')).toBe(want);
});

test.each([
  { code: 97, want: "'a'" },
  { code: 39, want: "'\\''" },
  { code: 10, want: "'\\n'" },
])("sprintf(%q) quotes the character $code as strconv.QuoteRune does", ({ code, want }) => {
  expect(sprintf("%q", [code])).toBe(want);
});
