import { expect, test } from "bun:test";
import { locateNode } from "../../../lib/config/locate.ts";
import { parseConfigText } from "../../../lib/config/parse.ts";

const text = `cpus: 4
memory:
images:
- location: https://example.com/a.img
  arch: x86_64
- location: https://example.com/b.img
mounts:
  - location: "~"
    9p:
      cache: mmap
base: &b
  url: x
other: *b
1: numeric key
`;
const parsed = parseConfigText(text);

test.each([
  { name: "a top-level value", path: ["cpus"], want: { line: 1, column: 7 } },
  { name: "a key with an empty value", path: ["memory"], want: { line: 2, column: 1 } },
  { name: "a list item", path: ["images", 1], want: { line: 6, column: 3 } },
  { name: "a field of a list item", path: ["images", 0, "arch"], want: { line: 5, column: 9 } },
  { name: "a nested field with a numeric-looking key", path: ["mounts", 0, "9p", "cache"], want: { line: 10, column: 14 } },
  { name: "a missing field (its parent)", path: ["images", 1, "arch"], want: { line: 6, column: 3 } },
  { name: "a missing list item (the list)", path: ["images", 5], want: { line: 4, column: 1 } },
  { name: "a missing top-level key (the document)", path: ["disk"], want: { line: 1, column: 1 } },
  { name: "a path through an alias (the anchored node)", path: ["other", "url"], want: { line: 12, column: 8 } },
  { name: "a numeric key", path: [1], want: { line: 14, column: 4 } },
  { name: "the document itself", path: [], want: { line: 1, column: 1 } },
])("locateNode() finds $name", ({ path, want }) => {
  expect(locateNode(parsed, path)).toEqual(want);
});

test.each([
  { path: ["mounts", 0, "9p"], want: { line: 9, column: 5 } },
  { path: ["images", 0, "arch"], want: { line: 5, column: 3 } },
  { path: ["cpus"], want: { line: 1, column: 1 } },
])("locateNode() with at: key points at the key of $path", ({ path, want }) => {
  expect(locateNode(parsed, path, { at: "key" })).toEqual(want);
});

test("locateNode() returns undefined for an empty document", () => {
  expect(locateNode(parseConfigText(""), ["cpus"])).toBeUndefined();
});
