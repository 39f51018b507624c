import { expect, test } from "bun:test";
import { equal, formatValue, goTypeName, isTrue, less, sortedKeys } from "../../../lib/gotemplate/go-value.ts";
import { GoTruthCases } from "./support/go-truth.ts";

test.each([
  { label: "a string", value: "x", want: "x" },
  { label: "an integer", value: 42, want: "42" },
  { label: "a negative integer", value: -7, want: "-7" },
  { label: "a fraction", value: 1.5, want: "1.5" },
  { label: "a small fraction", value: 0.0001, want: "0.0001" },
  { label: "a tiny fraction", value: 0.00001, want: "1e-05" },
  { label: "a large fraction", value: 123456.5, want: "123456.5" },
  { label: "a larger fraction", value: 1234567.5, want: "1.2345675e+06" },
  { label: "a number beyond int64", value: 1e21, want: "1e+21" },
  { label: "infinity", value: Infinity, want: "+Inf" },
  { label: "NaN", value: NaN, want: "NaN" },
  { label: "a boolean", value: true, want: "true" },
  { label: "nil", value: null, want: "<nil>" },
  { label: "a nested list", value: [1, [2, "a"], null], want: "[1 [2 a] <nil>]" },
  { label: "a nested map", value: { b: 1, a: { c: [] } }, want: "map[a:map[c:[]] b:1]" },
])("formatValue() prints $label as fmt's %v does", ({ value, want }) => {
  expect(formatValue(value)).toBe(want);
});

test.each([
  { value: "x", want: "string" },
  { value: 1, want: "int" },
  { value: 1.5, want: "float64" },
  { value: false, want: "bool" },
  { value: [], want: "[]interface {}" },
  { value: {}, want: "map[string]interface {}" },
  { value: null, want: "<nil>" },
])("goTypeName() names $value $want", ({ value, want }) => {
  expect(goTypeName(value)).toBe(want);
});

test.each([...GoTruthCases])("isTrue() of $label is $truth", ({ value, truth }) => {
  expect(isTrue(value)).toBe(truth);
});

test.each([
  { a: 1, b: 1, want: true },
  { a: 1, b: 1.5, want: false },
  { a: "a", b: "a", want: true },
  { a: true, b: false, want: false },
  { a: null, b: null, want: true },
  { a: null, b: "x", want: false },
  { a: "x", b: undefined, want: false },
])("equal() of $a and $b is $want", ({ a, b, want }) => {
  expect(equal(a, b)).toBe(want);
});

test.each([
  { a: 1, b: "1", message: "incompatible types for comparison" },
  { a: [1], b: [1], message: "non-comparable type []interface {}" },
  { a: "x", b: { a: 1 }, message: "non-comparable type map[string]interface {}" },
])("equal() refuses $a and $b", ({ a, b, message }) => {
  expect(() => equal(a, b)).toThrow(message);
});

test.each([
  { a: 1, b: 2, want: true },
  { a: 2, b: 1.5, want: false },
  { a: "B", b: "a", want: true },
  { a: "a", b: "a", want: false },
])("less() of $a and $b is $want", ({ a, b, want }) => {
  expect(less(a, b)).toBe(want);
});

test.each([
  { a: 1, b: "a", message: "incompatible types for comparison" },
  { a: null, b: 1, message: "invalid type for comparison: <nil>" },
  { a: 1, b: true, message: "invalid type for comparison: bool" },
])("less() refuses $a and $b", ({ a, b, message }) => {
  expect(() => less(a, b)).toThrow(message);
});

test("sortedKeys() orders keys by code point, as Go orders UTF-8 strings", () => {
  expect(sortedKeys({ b: 1, "\u{1F600}": 2, "\u{FF01}": 3, B: 4, a: 5, ab: 6 })).toEqual(["B", "a", "ab", "b", "\u{FF01}", "\u{1F600}"]);
});
