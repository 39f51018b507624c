import { expect, test } from "bun:test";
import type { ClockSample } from "../../../agent/clock/clock-sample.ts";
import { decideClockStep } from "../../../agent/clock/decide-clock-step.ts";

const T = Date.UTC(2026, 0, 2, 3, 4, 5);
const host = (guestMs: number, uncertaintyMs = 0): ClockSample => ({ source: "host", referenceMs: T, uncertaintyMs, guestMs });
const rtc = (guestMs: number): ClockSample => ({ source: "rtc", referenceMs: T, uncertaintyMs: 500, guestMs });

test.each([
  { name: "a guest 60 s behind the host (stood still) is stepped", sample: host(T - 60_000), driftMs: -60_000, step: true },
  { name: "a guest 60 s ahead of the host is stepped back", sample: host(T + 60_000), driftMs: 60_000, step: true },
  { name: "a guest in step with the host is left alone", sample: host(T), driftMs: 0, step: false },
  { name: "a guest 900 ms behind is left to NTP", sample: host(T - 900), driftMs: -900, step: false },
  { name: "a guest exactly 1 s behind is left alone", sample: host(T - 1000), driftMs: -1000, step: false },
  { name: "a guest 1.2 s behind a quick answer is stepped", sample: host(T - 1200, 5), driftMs: -1200, step: true },
  { name: "a guest 1.2 s behind a vague answer (±300 ms) is left alone", sample: host(T - 1200, 300), driftMs: -1200, step: false },
  { name: "a guest 1.2 s behind the RTC is left alone (whole seconds)", sample: rtc(T - 1200), driftMs: -1200, step: false },
  { name: "a guest 1.6 s behind the RTC is stepped", sample: rtc(T - 1600), driftMs: -1600, step: true },
  { name: "a guest 60 s behind the RTC is stepped", sample: rtc(T - 60_000), driftMs: -60_000, step: true },
])("decideClockStep() with a 1 s threshold: $name", ({ sample, driftMs, step }) => {
  expect(decideClockStep(sample)).toEqual({ driftMs, step });
});

test("decideClockStep() takes another threshold", () => {
  expect(decideClockStep(host(T - 200), 100)).toEqual({ driftMs: -200, step: true });
});
