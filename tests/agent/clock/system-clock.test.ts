// The machine's clock is never set here: setting it is what the guest agent does inside a VM, and this test runs on a
// host. Only the reads are checked.
import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { systemClock } from "../../../agent/clock/system-clock.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();

test.each([
  { name: "the RTC's text when the file exists", write: "1767323045\n", want: "1767323045\n" },
  { name: "undefined when the VM has no RTC", write: undefined, want: undefined },
])("systemClock().readRtc() returns $name", async ({ write, want }) => {
  const dir = await tempDir(defer);
  const rtcPath = join(dir, "since_epoch");
  if (write !== undefined) await writeFile(rtcPath, write);
  expect(await systemClock({ rtcPath }).readRtc()).toBe(want as string);
});

test("systemClock() reads CLOCK_REALTIME and a monotonic clock", () => {
  const clock = systemClock();
  expect(Math.abs(clock.realtimeMs() - Date.now())).toBeLessThan(50);
  const first = clock.monotonicMs();
  expect(clock.monotonicMs()).toBeGreaterThanOrEqual(first);
});
