import { expect, test } from "bun:test";
import { hostClockSample, rtcClockSample } from "../../../agent/clock/clock-sample.ts";

const T = Date.UTC(2026, 0, 2, 3, 4, 5);

test.each([
  { name: "an instant answer is exact", hostMs: T, sentMonoMs: 100, receivedMonoMs: 100, referenceMs: T, uncertaintyMs: 0 },
  { name: "a 40 ms round trip puts the host 20 ms past its reading, give or take 20", hostMs: T, sentMonoMs: 100, receivedMonoMs: 140, referenceMs: T + 20, uncertaintyMs: 20 },
  { name: "a 60 s round trip (a reply queued while the guest ran) is 30 s vague", hostMs: T, sentMonoMs: 0, receivedMonoMs: 60_000, referenceMs: T + 30_000, uncertaintyMs: 30_000 },
  { name: "a monotonic clock that went backwards counts as no round trip", hostMs: T, sentMonoMs: 100, receivedMonoMs: 90, referenceMs: T, uncertaintyMs: 0 },
])("hostClockSample() takes the middle of the round trip: $name", ({ hostMs, sentMonoMs, receivedMonoMs, referenceMs, uncertaintyMs }) => {
  expect(hostClockSample(hostMs, { sentMonoMs, receivedMonoMs, guestMs: T - 60_000 })).toEqual({ source: "host", referenceMs, uncertaintyMs, guestMs: T - 60_000 });
});

test.each([
  { name: "whole seconds with the sysfs newline", text: `${T / 1000}\n`, want: { source: "rtc", referenceMs: T + 500, uncertaintyMs: 500, guestMs: 42 } },
  { name: "whole seconds without a newline", text: `${T / 1000}`, want: { source: "rtc", referenceMs: T + 500, uncertaintyMs: 500, guestMs: 42 } },
  { name: "an RTC that was never set (1970)", text: "12\n", want: undefined },
  { name: "a negative count", text: "-5\n", want: undefined },
  { name: "a fraction", text: "1767323045.5\n", want: undefined },
  { name: "an empty file", text: "", want: undefined },
  { name: "text", text: "invalid\n", want: undefined },
])("rtcClockSample() reads $name", ({ text, want }) => {
  expect(rtcClockSample(text, 42)).toEqual(want as ReturnType<typeof rtcClockSample>);
});
