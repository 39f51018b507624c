import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureInotifyLatency, percentile } from "../../../../lib/mounts/inotify/measure-inotify-latency.ts";

test.each([
  { values: [], fraction: 0.5, expected: Number.NaN },
  { values: [5], fraction: 0.99, expected: 5 },
  { values: [4, 1, 3, 2], fraction: 0.5, expected: 2 },
  { values: Array.from({ length: 100 }, (_, i) => 100 - i), fraction: 0.99, expected: 99 },
])("percentile() of $values at $fraction is $expected", ({ values, fraction, expected }) => {
  expect(percentile(values, fraction)).toBe(expected);
});

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "den-latency-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("measureInotifyLatency() times host writes against a local inotifywait standing in for the guest", async () => {
  const result = await measureInotifyLatency(
    { host: dir, guest: dir },
    { spawnInGuest: (argv) => Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" }), samples: 6, gapMs: 20 },
  );
  expect(result.missed).toBe(0);
  expect(result.samplesMs).toHaveLength(6);
  expect(result.p99Ms).toBeLessThan(200);
});

test("measureInotifyLatency() counts writes the guest never reports as missed", async () => {
  const result = await measureInotifyLatency(
    { host: dir, guest: join(dir, "elsewhere") },
    {
      spawnInGuest: () => Bun.spawn(["sh", "-c", "echo 'Watches established.' >&2; sleep 30"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }),
      samples: 2,
      gapMs: 0,
      timeoutMs: 50,
    },
  );
  expect(result).toMatchObject({ samplesMs: [], missed: 2 });
});
