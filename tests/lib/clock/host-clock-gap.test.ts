import { expect, test } from "bun:test";
import { hostClockGap } from "../../../lib/clock/host-clock-gap.ts";

const at = { wallMs: 1_800_000_000_000, monotonicMs: 5_000 };
const after = (wallMs: number, monotonicMs: number) => ({ wallMs: at.wallMs + wallMs, monotonicMs: at.monotonicMs + monotonicMs });

test.each([
  { name: "a tick on time", current: after(2_000, 2_000), want: undefined },
  { name: "a tick 1.5 s late (a busy host)", current: after(3_500, 3_500), want: undefined },
  { name: "an NTP slew of 300 ms", current: after(2_300, 2_000), want: undefined },
  { name: "a host that slept 60 s (the monotonic clock stood still)", current: after(62_000, 2_000), want: "the host's clock jumped 60.0 s (the host slept, or its clock was set)" },
  { name: "a host clock set back 10 s", current: after(-8_000, 2_000), want: "the host's clock jumped -10.0 s (the host slept, or its clock was set)" },
  { name: "a host agent stopped 60 s (SIGSTOP)", current: after(62_000, 62_000), want: "the host agent did not run for 60.0 s" },
])("hostClockGap() with a 2 s interval: $name", ({ current, want }) => {
  expect(hostClockGap(at, current, 2_000)).toBe(want as string);
});
