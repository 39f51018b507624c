import { expect, test } from "bun:test";
import { describeYqType, getKey, isYqTruthy, withKey, yqCompare, yqEqual, yqUniqueKey } from "../../../lib/yq/yq-value.ts";

const equalRows = [
  { a: { x: 1, y: [1, { z: null }] }, b: { y: [1, { z: null }], x: 1 }, expected: true },
  { a: [1, 2], b: [2, 1], expected: false },
  { a: { x: 1 }, b: { x: 1, y: 2 }, expected: false },
  { a: null, b: undefined, expected: true },
  { a: 1, b: "1", expected: false },
  { a: Number.NaN, b: Number.NaN, expected: true },
];

test.each(equalRows)("yqEqual() compares $a and $b", ({ a, b, expected }) => {
  expect(yqEqual(a, b)).toBe(expected);
});

const typeRows = [
  { value: null, expected: "null" },
  { value: [], expected: "an array" },
  { value: {}, expected: "a map" },
  { value: "s", expected: "a string" },
  { value: 1, expected: "a number" },
  { value: true, expected: "a boolean" },
];

test.each(typeRows)("describeYqType() names $value as $expected", ({ value, expected }) => {
  expect(describeYqType(value)).toBe(expected);
});

test("yqCompare() orders null, booleans, numbers, strings, arrays, maps", () => {
  const values = [{ a: 1 }, [1], "b", "a", 10, 2, true, false, null];
  expect([...values].sort(yqCompare)).toEqual([null, false, true, 2, 10, "a", "b", [1], { a: 1 }]);
});

const uniqueKeyRows = [
  { a: null, b: "null", same: true },
  { a: 1, b: "1", same: true },
  { a: { x: 1 }, b: "{\"x\":1}", same: false },
  { a: [1], b: [1], same: true },
];

test.each(uniqueKeyRows)("yqUniqueKey() of $a and $b are the same: $same", ({ a, b, same }) => {
  expect(yqUniqueKey(a) === yqUniqueKey(b)).toBe(same);
});

test("withKey() copies the map and keeps the position of an existing key", () => {
  const map = { a: 1, b: 2 };
  const out = withKey(map, "a", 3);
  expect(Object.keys(out)).toEqual(["a", "b"]);
  expect(out).toEqual({ a: 3, b: 2 });
  expect(map).toEqual({ a: 1, b: 2 });
});

test("withKey() and getKey() treat __proto__ as an ordinary key", () => {
  const out = withKey({}, "__proto__", 1);
  expect(Object.keys(out)).toEqual(["__proto__"]);
  expect(getKey(out, "__proto__")).toBe(1);
  expect(getKey({}, "toString")).toBeNull();
});

test.each([
  { value: false, expected: false },
  { value: null, expected: false },
  { value: undefined, expected: false },
  { value: 0, expected: true },
  { value: "", expected: true },
  { value: [], expected: true },
])("isYqTruthy() of $value is $expected, as in yq", ({ value, expected }) => {
  expect(isYqTruthy(value)).toBe(expected);
});
