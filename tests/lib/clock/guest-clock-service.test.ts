import { afterEach, expect, test } from "bun:test";
import type { ClockStep } from "../../../agent/protocol/messages.ts";
import { clockStepMessage } from "../../../lib/clock/clock-step-message.ts";
import { GuestClockReportDataSchema, guestClockService, startGuestClock } from "../../../lib/clock/guest-clock-service.ts";
import type { FilledDenYaml } from "../../../lib/config/schema.ts";
import type { GuestAgentClient } from "../../../lib/guestagent/guest-agent-client.ts";
import type { GuestServiceContext, GuestServiceReport, RunningGuestService } from "../../../lib/hostagent/guest-service.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { until } from "../portfwd/support/test-sockets.ts";

const running: RunningGuestService[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
});

const T = Date.UTC(2026, 0, 2, 3, 4, 5);
const step: ClockStep = { type: "clock-stepped", source: "host", driftMs: -60_000, beforeMs: T - 60_000, afterMs: T, reason: "the host asked: a new session started" };

/** The clock half of a guest agent client: steps are emitted by the test, clock checks recorded. */
function fakeAgent(options: { canSync?: boolean } = {}) {
  const listeners = new Set<(step: ClockStep) => void>();
  const checks: string[] = [];
  const agent = {
    onClockStep: (listener: (step: ClockStep) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    syncClock: (reason: string) => {
      checks.push(reason);
      return options.canSync ?? true;
    },
  } as unknown as GuestAgentClient;
  return { agent, checks, emit: (next: ClockStep) => listeners.forEach((listener) => listener(next)), listeners };
}

function context(agent: GuestAgentClient | undefined) {
  const reports: GuestServiceReport[] = [];
  const log = createMemoryLogger();
  const stopped = new AbortController();
  const ctx = { instanceName: "vm", agent, log, report: (report: GuestServiceReport) => reports.push(report), signal: stopped.signal } as unknown as GuestServiceContext;
  return { ctx, reports, log, stopped };
}

/** Host clocks the test moves; the watch ticks every 20 ms. */
function hostClocks() {
  let wallShiftMs = 0;
  let monotonicShiftMs = 0;
  return {
    clocks: { wallMs: () => Date.now() + wallShiftMs, monotonicMs: () => performance.now() + monotonicShiftMs },
    sleep: (ms: number) => void (wallShiftMs += ms),
    stopAgent: (ms: number) => {
      wallShiftMs += ms;
      monotonicShiftMs += ms;
    },
  };
}

async function start(agent: GuestAgentClient | undefined) {
  const host = hostClocks();
  const c = context(agent);
  running.push(await startGuestClock(c.ctx, { clocks: host.clocks, intervalMs: 20 }));
  return { ...c, host };
}

test("guestClockService runs for every instance with a guest agent", () => {
  expect(guestClockService.enabled({ plain: false } as FilledDenYaml)).toBe(true);
  expect(guestClockService.enabled({ plain: true } as FilledDenYaml)).toBe(false);
});

test("startGuestClock() reports ready with no steps, then each step the agent reports as its message", async () => {
  const fake = fakeAgent();
  const { reports } = await start(fake.agent);
  expect(reports).toEqual([{ state: "ready", data: { steps: 0, hostGaps: 0 } }]);
  fake.emit(step);
  const report = await until(() => reports[1]);
  expect(report).toMatchObject({ state: "ready", message: clockStepMessage(step) });
  const data = GuestClockReportDataSchema.parse(report.data);
  expect(data).toMatchObject({ steps: 1, hostGaps: 0, last: { source: "host", driftMs: -60_000, beforeMs: T - 60_000, afterMs: T, reason: step.reason } });
});

test("startGuestClock() turns degraded while the agent's last step failed, and ready again after one that worked", async () => {
  const fake = fakeAgent();
  const { reports } = await start(fake.agent);
  fake.emit({ ...step, error: "Cannot set the clock: clock_settime() failed with EPERM" });
  await until(() => reports[1]);
  expect(reports[1]).toMatchObject({ state: "degraded", message: "Cannot set the guest clock, 60.0 s behind the host's clock: Cannot set the clock: clock_settime() failed with EPERM" });
  fake.emit(step);
  await until(() => reports[2], 3_000);
  expect(reports[2]?.state).toBe("ready");
});

test("startGuestClock() turns a flood of 1,000 steps into at most one report a second", async () => {
  const fake = fakeAgent();
  const { reports } = await start(fake.agent);
  for (let i = 0; i < 1_000; i++) fake.emit({ ...step, driftMs: -1_000 - i });
  await Bun.sleep(1_200);
  expect(reports.length).toBeLessThanOrEqual(3);
  expect(GuestClockReportDataSchema.parse(reports.at(-1)?.data)).toMatchObject({ steps: 1_000, last: { driftMs: -1_999 } });
});

test.each([
  { name: "the host slept 60 s", move: (host: ReturnType<typeof hostClocks>) => host.sleep(60_000), reason: "the host's clock jumped 60.0 s (the host slept, or its clock was set)" },
  { name: "the host agent was stopped 60 s", move: (host: ReturnType<typeof hostClocks>) => host.stopAgent(60_000), reason: "the host agent did not run for 60.0 s" },
])("startGuestClock() asks the agent to check the guest clock when $name", async ({ move, reason }) => {
  const fake = fakeAgent();
  const { host, log, reports } = await start(fake.agent);
  move(host);
  await until(() => fake.checks.length > 0 || undefined);
  expect(fake.checks).toEqual([reason]);
  expect(log.lines).toContainEqual({ level: "info", message: `${reason}: asking the guest agent to check the guest clock` });
  await until(() => reports.length > 1 || undefined);
  expect(GuestClockReportDataSchema.parse(reports.at(-1)?.data).hostGaps).toBe(1);
});

test("startGuestClock() says so when the host lost time and no agent that syncs the clock is connected", async () => {
  const fake = fakeAgent({ canSync: false });
  const { host, log } = await start(fake.agent);
  host.sleep(60_000);
  await until(() => log.lines.length > 0 || undefined);
  expect(log.lines[0]?.message).toEndWith(": no guest agent that syncs the clock is connected");
});

test.each([
  { name: "no guest agent", agent: undefined },
  { name: "a client without the clock methods (a stand-in)", agent: {} as GuestAgentClient },
])("startGuestClock() with $name reports ready and says the clock is left to the guest", async ({ agent }) => {
  const { reports } = await start(agent);
  expect(reports).toEqual([{ state: "ready", message: "the guest clock is left to the guest: this instance has no guest agent" }]);
});

test("stop() ends the watch and the subscription", async () => {
  const fake = fakeAgent();
  const { host } = await start(fake.agent);
  await running.pop()?.stop();
  expect(fake.listeners.size).toBe(0);
  host.sleep(60_000);
  await Bun.sleep(100);
  expect(fake.checks).toEqual([]);
});
