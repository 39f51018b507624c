import { afterEach, expect, test } from "bun:test";
import { type ClockHost, startTimeSync, type TimeSync, type TimeSyncOptions } from "../../../agent/clock/time-sync.ts";
import type { ClockStep } from "../../../agent/protocol/messages.ts";
import { until } from "../../lib/portfwd/support/test-sockets.ts";
import { type FakeGuestClock, fakeGuestClock } from "./support/fake-guest-clock.ts";

const started: TimeSync[] = [];
afterEach(() => {
  for (const sync of started.splice(0)) sync.stop();
});

/** Starts the sync and waits for its first check (at start), so a stall the test makes comes after it. */
async function start(guest: FakeGuestClock, options: Partial<TimeSyncOptions> = {}) {
  const log: string[] = [];
  const sync = startTimeSync(guest.clock, { log: (line) => log.push(line), tickMs: 50, ...options });
  started.push(sync);
  await sync.check("the agent started");
  return { sync, log };
}

/** A host answering with this machine's clock after `delayMs`; `answer: false` never answers. */
function fakeHost(options: { delayMs?: number; answer?: boolean } = {}) {
  const reports: ClockStep[] = [];
  let requests = 0;
  const host: ClockHost = {
    request: async () => {
      requests++;
      if (options.answer === false) return new Promise<number | undefined>(() => undefined);
      if (options.delayMs) await Bun.sleep(options.delayMs);
      return Date.now();
    },
    report: (step) => void reports.push(step),
  };
  return { host, reports, requests: () => requests };
}

const corrected = (guest: FakeGuestClock, withinMs: number) => until(() => Math.abs(guest.offsetMs) <= withinMs || undefined, 3_000);

test.each([
  // The fake RTC counts whole seconds, as the real one: a tick late by a loaded machine sees up to 1 s more.
  { name: "seen against the RTC", rtc: true, reason: expect.stringMatching(/^the clock moved -(59|60|61)\.\d s against the RTC$/) },
  { name: "at the periodic check without an RTC (VZ)", rtc: false, reason: expect.stringMatching(/^the periodic check$/) },
])("startTimeSync() steps a guest clock that stood still 60 s from the host's clock on its own tick, $name", async ({ rtc, reason }) => {
  const guest = fakeGuestClock({ rtc });
  const host = fakeHost();
  const { sync, log } = await start(guest, rtc ? {} : { limits: { rtcJumpMs: 1500, lateMs: 2000, periodicMs: 200 } });
  sync.attach(host.host);
  guest.stall(60_000);
  await corrected(guest, 50);
  expect(host.reports).toHaveLength(1);
  expect(host.reports[0]).toMatchObject({ type: "clock-stepped", source: "host", reason });
  expect(host.reports[0]?.error).toBeUndefined();
  expect(host.reports[0]?.driftMs).toBeWithin(-60_050, -59_950);
  expect(host.reports[0]!.afterMs - host.reports[0]!.beforeMs).toBeWithin(59_950, 60_050);
  expect(log.filter((line) => line.startsWith("clock: stepped the clock from "))).toHaveLength(1);
  expect(log.find((line) => line.startsWith("clock: stepped"))).toMatch(/: it was (59\.9|60\.0)\d\d s behind the host's clock \(/);
});

test("startTimeSync() without a host steps the clock from the RTC to within a second, and tells the next host", async () => {
  const guest = fakeGuestClock();
  const { sync } = await start(guest);
  guest.stall(60_000);
  await corrected(guest, 1_000);
  expect(guest.sets).toHaveLength(1);
  const host = fakeHost();
  sync.attach(host.host);
  expect(host.reports).toEqual([expect.objectContaining({ source: "rtc", reason: expect.stringMatching(/^the clock moved -(59|60|61)\.\d s against the RTC$/) })]);
  // Told once: the next host hears nothing of it.
  const next = fakeHost();
  sync.attach(next.host);
  expect(next.reports).toEqual([]);
});

test("check() asked by the host steps a clock without an RTC at once", async () => {
  const guest = fakeGuestClock({ rtc: false });
  const host = fakeHost();
  const { sync } = await start(guest, { tickMs: 60_000 });
  sync.attach(host.host);
  guest.stall(60_000);
  await sync.check("the host asked: a new session started");
  expect(Math.abs(guest.offsetMs)).toBeLessThan(50);
  expect(host.reports[0]?.reason).toBe("the host asked: a new session started");
});

test("check() leaves a clock in step alone and reports nothing", async () => {
  const guest = fakeGuestClock();
  const host = fakeHost();
  const { sync, log } = await start(guest, { tickMs: 60_000 });
  sync.attach(host.host);
  await sync.check("the periodic check");
  expect(host.requests()).toBeGreaterThanOrEqual(1);
  expect(guest.sets).toEqual([]);
  expect(host.reports).toEqual([]);
  expect(log).toEqual([]);
});

test("check() asks a slow host again and then goes by the RTC rather than by a vague answer", async () => {
  const guest = fakeGuestClock();
  const host = fakeHost({ delayMs: 120 });
  const { sync, log } = await start(guest, { tickMs: 60_000, maxRoundTripMs: 100 });
  sync.attach(host.host);
  guest.stall(60_000);
  await sync.check("the host asked: a test");
  expect(host.requests()).toBe(3);
  expect(host.reports).toEqual([expect.objectContaining({ source: "rtc" })]);
  expect(Math.abs(guest.offsetMs)).toBeLessThanOrEqual(1_000);
  expect(log.filter((line) => line.includes("too late to set the clock by"))).toHaveLength(3);
});

test("check() goes by the RTC when the host does not answer in time", async () => {
  const guest = fakeGuestClock();
  const host = fakeHost({ answer: false });
  const { sync } = await start(guest, { tickMs: 60_000, requestTimeoutMs: 100 });
  sync.attach(host.host);
  guest.stall(60_000);
  await sync.check("the host asked: a test");
  expect(host.reports).toEqual([expect.objectContaining({ source: "rtc" })]);
});

test("check() whose host session ended under the request asks the host of the new session", async () => {
  const guest = fakeGuestClock({ rtc: false });
  const { promise: firstAsked, resolve: askedFirst } = Promise.withResolvers<void>();
  const { promise: firstAnswer, resolve: answerFirst } = Promise.withResolvers<number | undefined>();
  const first: ClockHost = {
    request: () => {
      askedFirst();
      return firstAnswer;
    },
    report: () => undefined,
  };
  const second = fakeHost();
  const { sync } = await start(guest, { tickMs: 60_000 });
  sync.attach(first);
  guest.stall(60_000);
  const checked = sync.check("the host asked: a test");
  await firstAsked;
  // The new session replaces the old one, whose pending request ends unanswered.
  sync.attach(second.host);
  answerFirst(undefined);
  await checked;
  expect(second.reports).toEqual([expect.objectContaining({ source: "host" })]);
  expect(Math.abs(guest.offsetMs)).toBeLessThan(50);
});

test("a step that fails is logged and reported with its error, and the clock stays off", async () => {
  const guest = fakeGuestClock();
  guest.failSetsWith("Cannot set the clock: clock_settime() failed with EPERM");
  const host = fakeHost();
  const { sync, log } = await start(guest, { tickMs: 60_000 });
  sync.attach(host.host);
  guest.stall(60_000);
  await sync.check("the host asked: a test");
  expect(host.reports).toEqual([expect.objectContaining({ source: "host", error: "Cannot set the clock: clock_settime() failed with EPERM" })]);
  expect(guest.offsetMs).toBe(-60_000);
  expect(log.find((line) => line.startsWith("clock: cannot step the clock, 60.0"))).toEndWith("(the host asked: a test): Cannot set the clock: clock_settime() failed with EPERM");
});

test("detach() of an ended session leaves the newer host attached", async () => {
  const guest = fakeGuestClock({ rtc: false });
  const old = fakeHost();
  const current = fakeHost();
  const { sync } = await start(guest, { tickMs: 60_000 });
  sync.attach(old.host);
  sync.attach(current.host);
  sync.detach(old.host);
  guest.stall(5_000);
  await sync.check("the host asked: a test");
  expect(current.reports).toHaveLength(1);
  expect(old.requests()).toBe(0);
});

test("without a host or an RTC the agent says once that it has nothing to compare with", async () => {
  const guest = fakeGuestClock({ rtc: false });
  const { sync, log } = await start(guest, { tickMs: 60_000 });
  await sync.check("one");
  await sync.check("two");
  expect(log).toEqual(["clock: nothing to compare the clock with (no host answers, no RTC) (the agent started)"]);
});
