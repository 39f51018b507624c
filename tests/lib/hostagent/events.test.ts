import { expect, test } from "bun:test";
import { formatEvent, parseEvent } from "../../../lib/hostagent/events.ts";

const now = new Date("2026-01-02T03:04:05.000Z");

test("formatEvent() writes one JSON line that parseEvent() reads back", () => {
  const line = formatEvent({ running: true, degraded: false, exiting: false, errors: [], sshLocalPort: 60022 }, now);
  expect(line.endsWith("\n")).toBe(true);
  expect(line.slice(0, -1).includes("\n")).toBe(false);
  expect(parseEvent(line)).toEqual({
    time: "2026-01-02T03:04:05.000Z",
    status: { running: true, degraded: false, exiting: false, errors: [], sshLocalPort: 60022 },
  });
});

test.each([
  { name: "an empty line", line: "" },
  { name: "a torn write", line: '{"time":"2026-01-02T03:04:05.000Z","sta' },
  { name: "a stray print", line: "panic: something" },
  { name: "JSON without a status", line: '{"time":"x"}' },
])("parseEvent() ignores $name", ({ line }) => {
  expect(parseEvent(line)).toBeUndefined();
});

test("parseEvent() reads Lima's own event lines", () => {
  const lima = '{"time":"2024-05-01T10:00:00+02:00","status":{"running":true,"sshLocalPort":60022}}';
  expect(parseEvent(lima)?.status).toEqual({ running: true, degraded: false, exiting: false, errors: [], sshLocalPort: 60022 });
});
