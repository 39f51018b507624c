import { expect, test } from "bun:test";
import { deletePaths } from "../../../lib/yq/delete-paths.ts";
import { evaluateYq } from "../../../lib/yq/evaluate-yq.ts";

test.each([
  { name: "a key of a map", value: { a: 1, b: 2 }, paths: [["a"]], expected: { b: 2 } },
  { name: "several indices at once, without shifting in between", value: [1, 2, 3, 4], paths: [[0], [2]], expected: [2, 4] },
  { name: "a nested key", value: { a: { b: 1, c: 2 } }, paths: [["a", "b"]], expected: { a: { c: 2 } } },
  { name: "nothing for a path that is not there", value: { a: 1 }, paths: [["x", "y"]], expected: { a: 1 } },
  { name: "the whole value for an empty path", value: { a: 1 }, paths: [[]], expected: null },
  { name: "nothing when there are no paths", value: [1], paths: [], expected: [1] },
])("deletePaths() removes $name", ({ value, paths, expected }) => {
  expect(deletePaths(value, paths)).toEqual(expected);
});

test("deletePaths() does not change its input", () => {
  const value = { a: [1, 2] };
  deletePaths(value, [["a", 0]]);
  expect(value).toEqual({ a: [1, 2] });
});

test("deletePaths() keeps __proto__ an ordinary key", () => {
  const out = deletePaths(JSON.parse('{"__proto__": 1, "b": 2}'), [["b"]]) as object;
  expect(Object.keys(out)).toEqual(["__proto__"]);
});

test("evaluateYq() deletes every element of a long list in linear time", () => {
  const input = { list: Array.from({ length: 100_000 }, (_, i) => i) };
  const started = performance.now();
  expect(evaluateYq(input, "del(.list[] | select(. > 9))")).toEqual({ list: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
  expect(performance.now() - started).toBeLessThan(5000);
});
