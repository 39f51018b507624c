import { expect, test } from "bun:test";
import type { ClockStep } from "../../../agent/protocol/messages.ts";
import { clockStepMessage } from "../../../lib/clock/clock-step-message.ts";

const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const step: ClockStep = { type: "clock-stepped", source: "host", driftMs: -60_012, beforeMs: T - 60_012, afterMs: T, reason: "the host asked: a new session started" };

test.each([
  { name: "a step from the host's clock", step, want: "the guest clock was 60.0 s behind the host's clock; den set it at 2026-01-02T03:04:05.678Z (the host asked: a new session started)" },
  { name: "a step back from the RTC", step: { ...step, source: "rtc" as const, driftMs: 3_500, reason: "the agent started" }, want: "the guest clock was 3.5 s ahead of the VM's RTC; den set it at 2026-01-02T03:04:05.678Z (the agent started)" },
  { name: "a failed step", step: { ...step, error: "Cannot set the clock: clock_settime() failed with EPERM" }, want: "Cannot set the guest clock, 60.0 s behind the host's clock: Cannot set the clock: clock_settime() failed with EPERM" },
])("clockStepMessage() words $name", ({ step: input, want }) => {
  expect(clockStepMessage(input)).toBe(want);
});
