import { expect, test } from "bun:test";
import { rateLimitLog } from "../../lib/log-rate-limit.ts";
import { createMemoryLogger } from "../../lib/log.ts";

function clock() {
  let time = 1_000_000;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

test.each([
  { name: "fewer lines than the burst", lines: 3, written: 3 },
  { name: "exactly the burst", lines: 5, written: 5 },
  { name: "a flood", lines: 10_000, written: 5 },
])("rateLimitLog() writes at most the burst of one kind per interval: $name", ({ lines, written }) => {
  const log = createMemoryLogger();
  const time = clock();
  const limited = rateLimitLog(log, { burst: 5, intervalMs: 60_000, now: time.now });
  for (let i = 0; i < lines; i++) limited.kind("bad frames").warn(`bad frame ${i}`);
  expect(log.lines.length).toBe(written);
  expect(log.lines[0]).toEqual({ level: "warn", message: "bad frame 0" });
  limited.flush();
});

test("rateLimitLog() counts each kind on its own", () => {
  const log = createMemoryLogger();
  const limited = rateLimitLog(log, { burst: 2, now: clock().now });
  for (let i = 0; i < 10; i++) {
    limited.kind("a").warn(`a ${i}`);
    limited.kind("b").info(`b ${i}`);
  }
  expect(log.lines.map((line) => line.message)).toEqual(["a 0", "b 0", "a 1", "b 1"]);
  limited.flush();
});

test("rateLimitLog() writes one summary with the count when the next line comes after the interval", () => {
  const log = createMemoryLogger();
  const time = clock();
  const limited = rateLimitLog(log, { burst: 1, intervalMs: 60_000, now: time.now });
  for (let i = 0; i < 4; i++) limited.kind("guest agent input").warn(`line ${i}`);
  time.advance(60_000);
  limited.kind("guest agent input").warn("later");
  expect(log.lines).toEqual([
    { level: "warn", message: "line 0" },
    { level: "warn", message: "guest agent input: 3 more lines like this suppressed in the last 60 s" },
    { level: "warn", message: "later" },
  ]);
  limited.flush();
});

test("rateLimitLog() writes the summary when the interval ends even if no line follows", async () => {
  const log = createMemoryLogger();
  const limited = rateLimitLog(log, { burst: 1, intervalMs: 30 });
  limited.kind("streams").info("first");
  limited.kind("streams").info("second");
  await Bun.sleep(80);
  expect(log.lines).toEqual([
    { level: "info", message: "first" },
    { level: "info", message: "streams: 1 more line like this suppressed in the last 1 s" },
  ]);
});

test("rateLimitLog() writes the summary at the most severe suppressed level", () => {
  const log = createMemoryLogger();
  const limited = rateLimitLog(log, { burst: 1, now: clock().now });
  limited.kind("k").info("shown");
  limited.kind("k").info("hidden");
  limited.kind("k").error("hidden too");
  limited.flush();
  expect(log.lines.at(-1)).toEqual({ level: "error", message: "k: 2 more lines like this suppressed in the last 60 s" });
});

test("rateLimitLog() flush() writes nothing for a kind that suppressed nothing", () => {
  const log = createMemoryLogger();
  const limited = rateLimitLog(log, { now: clock().now });
  limited.kind("quiet").warn("only line");
  limited.flush();
  expect(log.lines).toEqual([{ level: "warn", message: "only line" }]);
});

test("rateLimitLog() lets a kind set its own burst", () => {
  const log = createMemoryLogger();
  const limited = rateLimitLog(log, { burst: 1, now: clock().now });
  for (let i = 0; i < 5; i++) limited.kind("forwards", { burst: 3 }).info(`f ${i}`);
  expect(log.lines.length).toBe(3);
  limited.flush();
});
