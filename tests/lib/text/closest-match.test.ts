import { expect, test } from "bun:test";
import { closestMatch, editDistance } from "../../../lib/text/closest-match.ts";

test.each([
  { a: "", b: "", want: 0 },
  { a: "abc", b: "abc", want: 0 },
  { a: "mountTyp", b: "mountType", want: 1 },
  { a: "cpsu", b: "cpus", want: 1 },
  { a: "kitten", b: "sitting", want: 3 },
  { a: "abc", b: "", want: 3 },
])("editDistance($a, $b) is $want", ({ a, b, want }) => {
  expect(editDistance(a, b)).toBe(want);
});

test.each([
  { word: "mountTyp", candidates: ["mounts", "mountType", "mountInotify"], want: "mountType" },
  { word: "mounttype", candidates: ["mounts", "mountType"], want: "mountType" },
  { word: "memroy", candidates: ["memory", "message"], want: "memory" },
  { word: "zzzzzz", candidates: ["memory", "message"], want: undefined },
  { word: "x", candidates: [], want: undefined },
])("closestMatch($word) suggests $want", ({ word, candidates, want }) => {
  expect(closestMatch(word, candidates)).toBe(want);
});
