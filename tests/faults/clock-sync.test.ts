// Issue 18, host sleep, at stand-in level: a guest that stood still 60 s (QEMU SIGSTOPped, the host asleep) gets its
// clock corrected within seconds of running again, and den reports the correction. The guest half is the real agent
// code (agent/agent.ts serving agent/clock/time-sync.ts over a unix socket) on a fake guest clock; the host half is
// the real client and the real "clock" guest service. Between them a relay plays QEMU's chardev: frozen, it passes no
// byte either way (the host's pings go unanswered and it starts a new session, as with a stopped QEMU), and thawed it
// delivers what waited. The host's own gaps are played against a fake guest speaking the protocol on a unix socket.
// The VM proof (SIGSTOP of a real QEMU for 60 s) is in tests/e2e/lifecycle.test.ts.
import { afterEach, expect, test } from "bun:test";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { serveAgent } from "../../agent/agent.ts";
import { startTimeSync, type TimeSync } from "../../agent/clock/time-sync.ts";
import { listenSocketPort } from "../../agent/port/socket-port.ts";
import { decodeHandshake, decodeJson, encodeFrame, encodeHandshake, encodeJson, type Frame, FrameParser, FrameType } from "../../agent/protocol/frame.ts";
import { type Control, ControlSchema } from "../../agent/protocol/messages.ts";
import type { ProtocolRange } from "../../agent/protocol/negotiate-protocol.ts";
import { GuestClockReportDataSchema, startGuestClock } from "../../lib/clock/guest-clock-service.ts";
import { connectGuestAgent } from "../../lib/guestagent/connect-guest-agent.ts";
import type { GuestAgentClient } from "../../lib/guestagent/guest-agent-client.ts";
import { HostAgentStatusSchema } from "../../lib/hostagent/events.ts";
import type { GuestServiceContext, GuestServiceReport } from "../../lib/hostagent/guest-service.ts";
import { statusChanges } from "../../lib/hostagent/watch-events.ts";
import { createMemoryLogger } from "../../lib/log.ts";
import { type FakeGuestClock, fakeGuestClock } from "../agent/clock/support/fake-guest-clock.ts";
import { until } from "../lib/portfwd/support/test-sockets.ts";
import { deferredCleanups, tempDir } from "../support/deferred-cleanups.ts";
import { printFaultTableAfterAll, recordFault } from "./support/fault-table.ts";

printFaultTableAfterAll("clock sync (stand-in)");
const defer = deferredCleanups();
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The stall. The relay stays frozen for a short real time; the guest clock loses the whole 60 s. */
const StallMs = 60_000;
/** "Within seconds". */
const CorrectedWithinMs = 5_000;

// ---------------------------------------------------------------------------------------------------------------
// The real agent behind a freezable relay, the real client and service in front.

/** QEMU's chardev: forwards both ways, and while frozen keeps every byte until it thaws. */
async function freezableRelay(path: string, agentPath: string) {
  let frozen = false;
  const flushes: (() => void)[] = [];
  const sockets: Socket[] = [];
  const forward = (from: Socket, to: Socket) => {
    const waiting: Buffer[] = [];
    from.on("data", (chunk: Buffer) => (frozen ? waiting.push(chunk) : to.write(chunk)));
    flushes.push(() => {
      for (const chunk of waiting.splice(0)) to.write(chunk);
    });
  };
  const server: Server = createServer((host) => {
    const agent = createConnection(agentPath);
    for (const socket of [host, agent]) {
      sockets.push(socket);
      socket.on("error", () => undefined);
    }
    host.on("close", () => agent.destroy());
    agent.on("close", () => host.destroy());
    forward(host, agent);
    forward(agent, host);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    freeze: () => void (frozen = true),
    thaw: () => {
      frozen = false;
      for (const flush of flushes) flush();
    },
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

interface StandIn {
  guest: FakeGuestClock;
  agentLog: string[];
  client: GuestAgentClient;
  reports: GuestServiceReport[];
  relay: Awaited<ReturnType<typeof freezableRelay>>;
}

async function standIn(options: { rtc: boolean; hostProtocols?: ProtocolRange }): Promise<StandIn> {
  const dir = await tempDir(defer);
  const agentPath = join(dir, "agent.sock");
  const path = join(dir, "ga.sock");
  const guest = fakeGuestClock({ rtc: options.rtc });
  const agentLog: string[] = [];
  const log = (line: string) => void agentLog.push(line);
  // The agent's own intervals: the 2 s tick and the 2 s answer wait are what "within seconds" rests on.
  const timeSync: TimeSync = startTimeSync(guest.clock, { log });
  const port = await listenSocketPort(agentPath);
  const stopAgent = new AbortController();
  const served = serveAgent({ port, version: "9.9.9-test", arch: "x86_64", log, timeSync }, stopAgent.signal);
  const relay = await freezableRelay(path, agentPath);
  // Pings every 300 ms: a frozen guest misses one within a second and the host starts a new session, as it does
  // (every 10 s) with a stopped QEMU.
  const client = connectGuestAgent({ transport: "unix", path }, { log: createMemoryLogger(), retryMs: 20, pingMs: 300, ...(options.hostProtocols && { protocols: options.hostProtocols }) });
  const reports: GuestServiceReport[] = [];
  const stopped = new AbortController();
  const ctx = { instanceName: "vm", agent: client, log: createMemoryLogger(), report: (report: GuestServiceReport) => reports.push(report), signal: stopped.signal } as unknown as GuestServiceContext;
  const service = await startGuestClock(ctx);
  cleanups.push(async () => {
    await service.stop();
    stopped.abort();
    await client.close();
    relay.close();
    timeSync.stop();
    stopAgent.abort();
    port.close();
    await served.catch(() => undefined);
  });
  await until(() => client.state.state === "connected" || undefined, 5_000);
  // The first session's check (the host asks after every WELCOME) finds the clock in step.
  await Bun.sleep(300);
  expect(guest.sets).toEqual([]);
  return { guest, agentLog, client, reports, relay };
}

/** Stops the guest 60 s: the relay holds every byte for 1.2 s of real time, and the guest clock loses the 60 s. */
async function stall(s: StandIn): Promise<number> {
  s.relay.freeze();
  await Bun.sleep(1_200);
  s.guest.stall(StallMs);
  s.relay.thaw();
  return performance.now();
}

/** What `den watch` prints for the service's newest report. */
function watchLines(reports: readonly GuestServiceReport[]): string[] {
  const status = (report: GuestServiceReport | undefined) => HostAgentStatusSchema.parse({ running: true, ...(report && { services: { clock: report } }) });
  return statusChanges(status(reports.at(-2)), status(reports.at(-1)));
}

test.each([
  { name: "a VM with an RTC (QEMU)", rtc: true },
  { name: "a VM without an RTC (VZ)", rtc: false },
])("a guest that stood still 60 s has its clock corrected within seconds and den reports it: $name", async ({ name, rtc }) => {
  const s = await standIn({ rtc });
  const resumed = await stall(s);
  expect(s.guest.offsetMs).toBe(-StallMs);
  await until(() => Math.abs(s.guest.offsetMs) <= 100 || undefined, CorrectedWithinMs);
  const correctedMs = Math.round(performance.now() - resumed);
  const report = await until(() => s.reports.find((entry) => entry.message !== undefined), 3_000);
  const data = GuestClockReportDataSchema.parse(report.data);
  expect(data.last?.driftMs).toBeWithin(-StallMs - 100, -StallMs + 100);
  expect(report.state).toBe("ready");
  expect(report.message).toMatch(/^the guest clock was (59\.9|60\.0|60\.1) s behind the (host's clock|VM's RTC); den set it at /);
  const [line] = watchLines(s.reports);
  expect(line).toStartWith("clock: ready: the guest clock was ");
  expect(s.agentLog.filter((entry) => entry.startsWith("clock: stepped the clock from "))).not.toHaveLength(0);
  recordFault({
    fault: `guest stood still 60 s (QEMU SIGSTOP stand-in), ${name}`,
    state: `clock corrected ${correctedMs} ms after it ran again (now ${Math.round(s.guest.offsetMs)} ms off); den watch: "${line?.slice(0, 70)}…"`,
    // A stand-in: no disk, no process of its own beyond this test's.
    diskIntact: true,
    leaked: 0,
    silent: s.reports.length < 2,
  });
  expect(correctedMs).toBeLessThan(CorrectedWithinMs);
}, 20_000);

test("a new agent under an old host (protocol 2) still corrects the clock from the RTC, and says so in its log", async () => {
  const s = await standIn({ rtc: true, hostProtocols: { min: 1, max: 2 } });
  await stall(s);
  await until(() => Math.abs(s.guest.offsetMs) <= 1_000 || undefined, CorrectedWithinMs);
  expect(s.agentLog.find((entry) => entry.startsWith("clock: stepped the clock from "))).toMatch(/behind the RTC \(the clock moved -60\.0 s against the RTC\)$/);
  // The old host never hears of it: clock messages are not sent in a version 2 session.
  expect(s.client.syncClock?.("a test")).toBe(false);
}, 20_000);

// ---------------------------------------------------------------------------------------------------------------
// The host's half against a fake guest speaking the protocol on a unix socket.

interface FakeGuest {
  /** Control messages the host sent, in order. */
  controls: Control[];
  /** The fake guest's clock loses `ms`, as a VM on a sleeping host does. */
  stall(ms: number): void;
}

/** Answers HELLO with `protocol`; as a protocol 3 guest 60 s behind, answers each clock-check the way the agent does. */
async function fakeGuest(protocol: number): Promise<FakeGuest & { path: string }> {
  const dir = await tempDir(defer);
  const path = join(dir, "ga.sock");
  const sockets: Socket[] = [];
  const controls: Control[] = [];
  let offsetMs = -StallMs;
  let requestedAt = 0;
  const send = (message: Control) => sockets.at(-1)?.write(encodeFrame({ type: FrameType.Control, stream: 0, payload: encodeJson(message) }));
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    const parser = new FrameParser(FrameType.Hello);
    socket.on("data", (chunk: Buffer) => {
      for (const item of parser.push(chunk)) {
        if (item.kind !== "frame") continue;
        const frame: Frame = item.frame;
        if (frame.type === FrameType.Hello) {
          const nonce = (decodeHandshake(frame.payload) as { nonce: string }).nonce;
          socket.write(encodeFrame({ type: FrameType.Welcome, stream: 0, payload: encodeHandshake({ nonce, version: "fake", protocol, arch: "x86_64" }) }));
          continue;
        }
        if (frame.type !== FrameType.Control) continue;
        const message = ControlSchema.parse(decodeJson(frame.payload));
        controls.push(message);
        if (message.type === "clock-check") {
          requestedAt = performance.now();
          send({ type: "clock-request", id: controls.length });
        }
        if (message.type === "clock-reply") {
          const hostMs = message.unixMs + (performance.now() - requestedAt) / 2;
          const beforeMs = Date.now() + offsetMs;
          const driftMs = Math.round(beforeMs - hostMs);
          if (Math.abs(driftMs) <= 1_000) continue;
          offsetMs -= driftMs;
          const check = controls.findLast((entry) => entry.type === "clock-check");
          send({ type: "clock-stepped", source: "host", driftMs, beforeMs, afterMs: Date.now() + offsetMs, reason: `the host asked: ${check?.type === "clock-check" ? check.reason : ""}` });
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  defer(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { path, controls, stall: (ms) => void (offsetMs -= ms) };
}

async function hostFor(guest: { path: string }) {
  const log = createMemoryLogger();
  const client = connectGuestAgent({ transport: "unix", path: guest.path }, { log, retryMs: 20 });
  cleanups.push(() => client.close());
  await until(() => client.state.state === "connected" || undefined, 5_000);
  return { client, log };
}

test("the host asks a protocol 3 agent to check its clock after every WELCOME, and answers its request with the host's clock", async () => {
  const guest = await fakeGuest(3);
  const { client, log } = await hostFor(guest);
  const reply = await until(() => guest.controls.find((message) => message.type === "clock-reply"), 3_000);
  expect(guest.controls[0]).toEqual({ type: "clock-check", reason: "a new session started" });
  expect(reply.type === "clock-reply" && reply.unixMs).toBeWithin(Date.now() - 1_000, Date.now() + 1);
  await until(() => log.lines.find((line) => line.message.startsWith("guest clock corrected")), 3_000);
  expect(log.lines).toContainEqual({ level: "info", message: "guest clock corrected: it was 60.0 s behind the host's clock (the host asked: a new session started)" });
  expect(client.syncClock?.("a test")).toBe(true);
});

test("the host sends no clock message to an older agent (protocol 2) and says it cannot sync the clock", async () => {
  const guest = await fakeGuest(2);
  const { client } = await hostFor(guest);
  await Bun.sleep(200);
  expect(client.syncClock?.("a test")).toBe(false);
  expect(guest.controls.filter((message) => message.type.startsWith("clock-"))).toEqual([]);
});

test("the host slept 60 s: the host agent asks the guest to check, and the guest clock is corrected and reported", async () => {
  const guest = await fakeGuest(3);
  const { client } = await hostFor(guest);
  // The guest's clock was set at the first session; now it loses the host's sleep again.
  await until(() => guest.controls.find((message) => message.type === "clock-reply"), 3_000);
  await Bun.sleep(100);
  let wallShiftMs = 0;
  const clocks = { wallMs: () => Date.now() + wallShiftMs, monotonicMs: () => performance.now() };
  const reports: GuestServiceReport[] = [];
  const stopped = new AbortController();
  const ctx = { instanceName: "vm", agent: client, log: createMemoryLogger(), report: (report: GuestServiceReport) => reports.push(report), signal: stopped.signal } as unknown as GuestServiceContext;
  const service = await startGuestClock(ctx, { clocks, intervalMs: 50 });
  cleanups.push(async () => {
    await service.stop();
    stopped.abort();
  });
  // The host sleeps: its wall clock jumps ahead of its monotonic clock, and the guest's clock falls behind by as much.
  guest.stall(StallMs);
  const slept = performance.now();
  wallShiftMs = StallMs;
  const check = await until(() => guest.controls.find((message) => message.type === "clock-check" && message.reason.startsWith("the host's clock jumped")), 3_000);
  expect(check).toEqual({ type: "clock-check", reason: "the host's clock jumped 60.0 s (the host slept, or its clock was set)" });
  const report = await until(() => reports.find((entry) => GuestClockReportDataSchema.parse(entry.data).last?.reason.includes("the host's clock jumped")), 3_000);
  const correctedMs = Math.round(performance.now() - slept);
  expect(report).toMatchObject({ state: "ready", message: expect.stringMatching(/^the guest clock was 60\.0 s behind the host's clock; den set it at .* \(the host asked: the host's clock jumped 60\.0 s/) });
  expect(GuestClockReportDataSchema.parse(report.data).hostGaps).toBe(1);
  recordFault({
    fault: "host slept 60 s (wall clock jumped against the monotonic clock; stand-in)",
    state: `guest clock corrected and reported ${correctedMs} ms after the host woke: "${check.type === "clock-check" ? check.reason : ""}"`,
    diskIntact: true,
    leaked: 0,
    silent: false,
  });
});
