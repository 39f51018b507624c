import { expect, test } from "bun:test";
import { clockCheckReason, type ClockTick } from "../../../agent/clock/clock-check-reason.ts";

const quiet: ClockTick = { rtcOffsetMs: 300, baselineOffsetMs: -200, lateMs: 3, sinceCheckMs: 10_000, hostAttached: true };

test.each([
  { name: "nothing suggests a check", tick: quiet, want: undefined },
  { name: "the guest stood still 60 s (its clock fell behind the RTC)", tick: { ...quiet, rtcOffsetMs: -60_200 }, want: "the clock moved -60.0 s against the RTC" },
  { name: "someone set the clock 5 s ahead", tick: { ...quiet, rtcOffsetMs: 4_800 }, want: "the clock moved 5.0 s against the RTC" },
  { name: "the RTC's whole seconds wander the offset by a second", tick: { ...quiet, rtcOffsetMs: 800, baselineOffsetMs: -200 }, want: undefined },
  { name: "the RTC became readable after the last check", tick: { ...quiet, baselineOffsetMs: undefined }, want: "the RTC can be read" },
  { name: "a VM without an RTC whose tick ran 58 s late", tick: { ...quiet, rtcOffsetMs: undefined, baselineOffsetMs: undefined, lateMs: 58_000 }, want: "a timer fired 58.0 s late" },
  { name: "a tick 1.5 s late is jitter", tick: { ...quiet, lateMs: 1_500 }, want: undefined },
  { name: "a minute since the last check with a host", tick: { ...quiet, sinceCheckMs: 60_000 }, want: "the periodic check" },
  { name: "a minute since the last check without a host", tick: { ...quiet, sinceCheckMs: 60_000, hostAttached: false }, want: undefined },
  { name: "a jump wins over a late tick", tick: { ...quiet, rtcOffsetMs: -60_200, lateMs: 58_000 }, want: "the clock moved -60.0 s against the RTC" },
])("clockCheckReason() when $name", ({ tick, want }) => {
  expect(clockCheckReason(tick)).toBe(want as string);
});
