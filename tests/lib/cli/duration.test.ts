import { expect, test } from "bun:test";
import { parseDuration } from "../../../lib/cli/duration.ts";

test.each([
  { text: "10m", ms: 600_000 },
  { text: "10m0s", ms: 600_000 },
  { text: "1m30s", ms: 90_000 },
  { text: "90s", ms: 90_000 },
  { text: "1h", ms: 3_600_000 },
  { text: "250ms", ms: 250 },
  { text: "1.5s", ms: 1_500 },
  { text: "45", ms: 45_000 },
])("parseDuration() reads $text", ({ text, ms }) => {
  expect(parseDuration(text)).toBe(ms);
});

test.each(["", "ten", "10x", "m10", "10 m", "-5s"])("parseDuration() refuses %p with the flag named", (text) => {
  expect(() => parseDuration(text)).toThrow(`Cannot parse --timeout "${text}": not a duration`);
});
