import { describe, expect, test } from "bun:test";
import { createLogger, formatLogLine } from "../../lib/log.ts";

const now = new Date("2026-01-02T03:04:05.000Z");

describe("formatLogLine()", () => {
  test.each([
    { level: "warn" as const, message: "disk is small", fields: {}, format: "text" as const, want: "warning: disk is small" },
    { level: "info" as const, message: "ready", fields: { port: 22 }, format: "text" as const, want: "info: ready (port=22)" },
    { level: "error" as const, message: "x", fields: { name: "a b" }, format: "text" as const, want: "error: x (name=a b)" },
    {
      level: "info" as const,
      message: "ready",
      fields: { port: 22 },
      format: "json" as const,
      want: '{"time":"2026-01-02T03:04:05.000Z","level":"info","msg":"ready","port":22}',
    },
  ])("renders $level in $format as $want", ({ level, message, fields, format, want }) => {
    expect(formatLogLine(level, message, fields, { format, now })).toBe(want);
  });
});

describe("createLogger()", () => {
  test("drops debug lines unless debug is on", () => {
    const lines: string[] = [];
    createLogger({ format: "text", debug: false, write: (line) => lines.push(line) }).debug("hidden");
    createLogger({ format: "text", debug: true, write: (line) => lines.push(line) }).debug("shown");
    expect(lines).toEqual(["debug: shown"]);
  });
});

describe("redirect()", () => {
  test("redirect() keeps the format and debug switch and writes to the new target only", () => {
    const first: string[] = [];
    const second: string[] = [];
    const logger = createLogger({ format: "json", debug: true, write: (line) => first.push(line), now: () => now });
    const moved = logger.redirect?.((line) => second.push(line));
    moved?.debug("moved", { n: 1 });
    expect(first).toEqual([]);
    expect(second).toEqual(['{"time":"2026-01-02T03:04:05.000Z","level":"debug","msg":"moved","n":1}']);
  });
});
