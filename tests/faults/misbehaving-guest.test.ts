// Issue 18, a guest that misbehaves: the real host side (connectGuestAgent, the port forwarder, the ports service the
// host agent runs) against a guest agent that sends garbage, truncated and oversized frames and frames for streams
// that were never opened, floods listeners, or stops answering. Each case checks that the host side keeps running,
// stays bounded in memory (measured in this process, which holds both sides: the hostile guest reuses one buffer, so
// what grows is the host's), reports the fault, leaves no socket behind, and works again with a well-behaved session.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { decodeJson, encodeFrame, encodeHandshake, type Frame, FrameType, HandshakeMagic, HeaderBytes } from "../../agent/protocol/frame.ts";
import type { GuestListener } from "../../agent/protocol/messages.ts";
import { DenError } from "../../lib/errors.ts";
import { connectGuestAgent, type ConnectGuestAgentOptions } from "../../lib/guestagent/connect-guest-agent.ts";
import type { GuestAgentClient, GuestAgentState } from "../../lib/guestagent/guest-agent-client.ts";
import type { FilledDenYaml } from "../../lib/config/schema.ts";
import type { GuestServiceContext, GuestServiceReport } from "../../lib/hostagent/guest-service.ts";
import { createMemoryLogger } from "../../lib/log.ts";
import { DefaultMaxPortForwards } from "../../lib/portfwd/cap-forwards.ts";
import { defaultedRule, effectiveRules } from "../../lib/portfwd/effective-rules.ts";
import { startForwarder } from "../../lib/portfwd/forwarder.ts";
import { portForwardService } from "../../lib/portfwd/port-forward-service.ts";
import { deferredCleanups, tempDir } from "../support/deferred-cleanups.ts";
import { until } from "../lib/portfwd/support/test-sockets.ts";
import { recordFault, printFaultTableAfterAll } from "./support/fault-table.ts";
import { control, type HostileAgent, hostileAgent, type HostilePolicy } from "./support/hostile-agent.ts";
import { ownListeningPorts, ownSocketInodes } from "./support/process-sockets.ts";

const defer = deferredCleanups();
printFaultTableAfterAll("Misbehaving guest (tests/faults/misbehaving-guest.test.ts)");

const MiB = 1024 * 1024;
/** How long the host may take to notice and recover: generous, for a loaded 2-core machine. */
const settleMs = 15_000;
/** The test's liveness timings, short so a case takes seconds; the defaults (10 s ping, 30 s HELLO) scale the same. */
const pingMs = 250;
const helloTimeoutMs = 750;

// ---------------------------------------------------------------------------------------------------------------
// Helpers.

interface Memory {
  heapUsed: number;
  rss: number;
}

function memory(): Memory {
  Bun.gc(true);
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Growth since `before`, printed as the closing note quotes it. */
function grown(before: Memory, label: string): Memory {
  const after = memory();
  const growth = { heapUsed: after.heapUsed - before.heapUsed, rss: after.rss - before.rss };
  console.log(`memory, ${label}: heapUsed ${mib(before.heapUsed)} -> ${mib(after.heapUsed)} (${growth.heapUsed >= 0 ? "+" : ""}${mib(growth.heapUsed)}), rss ${mib(before.rss)} -> ${mib(after.rss)} (${growth.rss >= 0 ? "+" : ""}${mib(growth.rss)})`);
  return growth;
}

/** Heap the host may keep after a flood: a few frames' worth of buffers and the rate-limited log lines, never the flood. */
const MaxHeapGrowth = 16 * MiB;
/** rss moves with the allocator's arenas and the kernel's socket buffers; a flood kept in memory would pass it by far. */
const MaxRssGrowth = 96 * MiB;

async function setup(policy: Partial<HostilePolicy> = {}, options: Partial<ConnectGuestAgentOptions> = {}) {
  const dir = await tempDir(defer);
  const guest = await hostileAgent(dir, policy);
  defer(() => guest.close());
  const log = createMemoryLogger();
  const states: GuestAgentState[] = [];
  const client = connectGuestAgent({ transport: "unix", path: guest.path }, { log, retryMs: 20, pingMs, helloTimeoutMs, ...options });
  client.onState((state) => states.push(state));
  defer(() => client.close());
  return { guest, client, log, states };
}

async function connected(client: GuestAgentClient): Promise<void> {
  await until(() => client.state.state === "connected" || undefined, settleMs);
}

/** The next listener list the client hands on that `accept` takes. */
function nextListeners(client: GuestAgentClient, accept: (listeners: readonly GuestListener[]) => boolean): Promise<readonly GuestListener[]> {
  return new Promise((resolve) => {
    const off = client.onListeners((listeners) => {
      if (!accept(listeners)) return;
      queueMicrotask(() => off());
      resolve(listeners);
    });
  });
}

/** Proves the session works: the guest's next listener list arrives whole. */
async function sessionWorks(guest: HostileAgent, client: GuestAgentClient): Promise<void> {
  const listeners: GuestListener[] = [{ proto: "tcp", ip: "127.0.0.1", port: 8080 + guest.connections.length }];
  const arrived = nextListeners(client, (list) => list.length === 1 && list[0]?.port === listeners[0]?.port);
  guest.latest().send([control({ type: "listeners", listeners })]);
  const late = Bun.sleep(settleMs).then(() => "no listener list arrived");
  expect(await Promise.race([arrived, late])).toEqual(listeners);
}

/** Warnings and errors whose message matches: what a user reading ha.stderr.log would see. */
function reported(log: ReturnType<typeof createMemoryLogger>, pattern: RegExp): string[] {
  return log.lines.filter((line) => (line.level === "warn" || line.level === "error") && pattern.test(line.message)).map((line) => line.message);
}

/** Sends `total` bytes from `next()` as fast as the host reads them. */
async function flood(guest: HostileAgent, total: number, next: (sent: number) => Uint8Array): Promise<number> {
  const connection = guest.latest();
  let sent = 0;
  while (sent < total) {
    const chunk = next(sent);
    if (!(await connection.write(chunk))) break;
    sent += chunk.byteLength;
  }
  return sent;
}

const header = (type: number, stream: number, length: number): Uint8Array => {
  const bytes = new Uint8Array(HeaderBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint32(1, stream);
  view.setUint32(5, length);
  return bytes;
};

const concat = (parts: readonly Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

// ---------------------------------------------------------------------------------------------------------------
// Garbage, oversized and handshake-shaped frames: each a stream of bytes the guest pushes at the host.

/** 4 MiB of random bytes, sent again and again from shifting offsets: 200 MiB without allocating 200 MiB here. */
const randomPool = randomBytes(4 * MiB);
const zeros = new Uint8Array(MiB);
/** A WELCOME header and the magic, then JSON that does not parse: the host cannot skip it as garbage before the handshake. */
const brokenWelcome = concat([header(FrameType.Welcome, 0, HandshakeMagic.byteLength + 3), HandshakeMagic, new TextEncoder().encode("{x]")]);
const brokenWelcomes = concat(Array.from({ length: 1024 }, () => brokenWelcome));
/** A well-formed announcement (what a freshly started agent sends), which the host answers with a HELLO. */
const announcement = encodeFrame({ type: FrameType.Welcome, stream: 0, payload: encodeHandshake({ nonce: null, version: "hostile", protocol: 2, arch: "x86_64" }) });
const announcements = concat(Array.from({ length: 1024 }, () => announcement));

test.each([
  {
    fault: "200 MiB of random bytes on the agent channel",
    total: 200 * MiB,
    pattern: /unreadable input \(unknown frame type|frame length \d+ exceeds/,
    next: (sent: number) => randomPool.subarray((sent / MiB) % 3 * MiB + (sent % 7), (sent / MiB) % 3 * MiB + (sent % 7) + MiB),
  },
  {
    fault: "a DATA frame announcing 4 GiB, then 64 MiB",
    total: 64 * MiB,
    pattern: /frame length 4294967295 exceeds 65536/,
    next: (sent: number) => (sent === 0 ? concat([header(FrameType.Data, 1, 0xffff_ffff), zeros]) : zeros),
  },
  {
    fault: "a CONTROL frame announcing 1 MiB + 1 (one past the limit), then 64 MiB",
    total: 64 * MiB,
    pattern: /frame length 1048577 exceeds 1048576/,
    next: (sent: number) => (sent === 0 ? concat([header(FrameType.Control, 0, MiB + 1), zeros]) : zeros),
  },
  {
    fault: "16 MiB of WELCOMEs whose JSON does not parse (620,000 frames)",
    total: 16 * MiB,
    pattern: /WELCOME that does not parse/,
    next: () => brokenWelcomes,
  },
  {
    fault: "a truncated frame, then 16 MiB of agent announcements (190,000 frames)",
    total: 16 * MiB,
    pattern: /unreadable input|frame length|did not answer/,
    next: (sent: number) => (sent === 0 ? concat([header(FrameType.Control, 0, 200), announcements]) : announcements),
  },
])("$fault: the host discards them in bounded memory, reports them, and the next session works", async ({ fault, total, pattern, next }) => {
  const { guest, client, log } = await setup({ listeners: [{ proto: "tcp", ip: "127.0.0.1", port: 22 }] }, { helloTimeoutMs: 60_000 });
  await connected(client);
  const before = memory();
  const started = performance.now();
  // The host answers the garbage with a new HELLO; the guest keeps still until it is done.
  guest.policy.hello = false;
  const sent = await flood(guest, total, next);
  const hellosBefore = guest.latest().helloCount;
  await until(() => guest.latest().helloCount > 1 || undefined, settleMs);
  // The host waits for the WELCOME to its newest HELLO, and reads it only after all the flood.
  guest.policy.hello = true;
  guest.latest().welcome();
  await connected(client);
  await sessionWorks(guest, client);
  const seconds = (performance.now() - started) / 1000;
  const growth = grown(before, `${fault} (${mib(sent)} in ${seconds.toFixed(1)} s)`);
  const lines = reported(log, pattern);
  const hellos = guest.latest().helloCount;
  console.log(`  host HELLOs on the connection: ${hellos} (${hellos - hellosBefore} after the flood ended), log lines: ${log.lines.length}`);
  expect(sent).toBeGreaterThanOrEqual(total);
  expect(guest.connections.length).toBe(1);
  expect(growth.heapUsed).toBeLessThan(MaxHeapGrowth);
  expect(growth.rss).toBeLessThan(MaxRssGrowth);
  // The flood's own HELLOs: two a second at most (announcements) and a few more, never one per bad frame.
  expect(hellos).toBeLessThanOrEqual(5 + 2 * Math.ceil(seconds));
  expect(log.lines.length).toBeLessThanOrEqual(5 * 6);
  recordFault({
    fault,
    state: `session reset (${lines[0] ?? "no warning"}), then connected again; heap +${mib(growth.heapUsed)}`,
    diskIntact: true,
    leaked: guest.open().length - 1,
    silent: lines.length === 0,
  });
}, 60_000);

// ---------------------------------------------------------------------------------------------------------------
// Truncated frames and agents that stop answering.

test("a truncated frame then silence: the host gives up on the connection within its timeouts, says so, and dials again", async () => {
  const { guest, client, log, states } = await setup();
  await connected(client);
  const first = guest.latest();
  guest.policy.hello = false;
  guest.policy.pong = false;
  const started = performance.now();
  // Half a DATA frame: the host's reader waits for bytes that never come.
  await first.write(concat([header(FrameType.Data, 1, 65_536), zeros.subarray(0, 100)]));
  await until(() => first.closed || undefined, settleMs);
  const gaveUpMs = performance.now() - started;
  const dropped = states.find((state): state is Extract<GuestAgentState, { state: "disconnected" }> => state.state === "disconnected");
  await until(() => guest.connections.length >= 2 || undefined, settleMs);
  // The new connection's HELLO may still be on its way: answer it once it is there.
  await until(() => guest.latest().hellos.length > 0 || undefined, settleMs);
  guest.policy.hello = true;
  guest.policy.pong = true;
  guest.latest().welcome();
  await connected(client);
  await sessionWorks(guest, client);
  console.log(`  truncated frame: connection given up after ${Math.round(gaveUpMs)} ms (ping ${pingMs} ms, HELLO timeout ${helloTimeoutMs} ms)`);
  // One ping interval to send a ping, one to find it unanswered, then the HELLO's timeout: slack for a loaded machine.
  expect(gaveUpMs).toBeLessThan(2 * pingMs + helloTimeoutMs + 5_000);
  expect(dropped?.reason).toMatch(/did not answer/);
  const lines = reported(log, /did not answer|disconnected/);
  recordFault({
    fault: "a truncated frame, then silence",
    state: `disconnected (${dropped?.reason ?? "no reason"}), dialled again, connected`,
    diskIntact: true,
    leaked: guest.open().length - 1,
    silent: lines.length === 0 && dropped === undefined,
  });
}, 30_000);

test("an agent that never answers HELLO: the ports service turns degraded with the reason, the host dials again, and recovers", async () => {
  const { guest, client, log } = await setup({ hello: false, listeners: [] });
  const reports: GuestServiceReport[] = [];
  let degradedAt = 0;
  const serviceLog = createMemoryLogger();
  const ctx = {
    instanceName: "hostile",
    config: { plain: false, portForwards: [], user: { uid: 1000 } } as unknown as FilledDenYaml,
    ssh: { port: 60022 },
    driver: {},
    agent: client,
    env: {},
    log: serviceLog,
    report: (report: GuestServiceReport) => {
      if (report.state === "degraded" && /did not answer/.test(report.message ?? "") && degradedAt === 0) degradedAt = performance.now();
      reports.push(report);
    },
    signal: new AbortController().signal,
  } as unknown as GuestServiceContext;
  const started = performance.now();
  const service = await portForwardService.start(ctx);
  defer(() => service.stop());
  const degraded = await until(() => reports.find((report) => report.state === "degraded" && /did not answer/.test(report.message ?? "")), settleMs);
  const reportedMs = degradedAt - started;
  // Dials again, and gives each connection up in turn: none of them stays open behind the newest.
  await until(() => guest.connections.length >= 3 || undefined, settleMs);
  await until(() => guest.open().length <= 1 || undefined, settleMs);
  const leaked = guest.open().length - 1;
  console.log(`  never answers HELLO: ports service degraded after ${Math.round(reportedMs)} ms, ${guest.connections.length} connections dialled`);
  expect(reportedMs).toBeLessThan(helloTimeoutMs + 5_000);
  expect(guest.connections.every((connection) => connection.hellos.length >= 1)).toBe(true);
  // The agent comes to: the next connection's session is up and the service ready again.
  guest.policy.hello = true;
  await connected(client);
  await until(() => reports.at(-1)?.state === "ready" || undefined, settleMs);
  await sessionWorks(guest, client);
  const lines = [...reported(log, /did not answer/), ...reported(serviceLog, /did not answer/)];
  recordFault({
    fault: "an agent that accepts the connection but never answers HELLO",
    state: `ports service degraded: ${degraded.message}; ready again once it answers`,
    diskIntact: true,
    leaked,
    silent: lines.length === 0,
  });
}, 30_000);

test("an agent that answers HELLO but no ping and no OPEN: a host connection through a forward fails within bounds and is reported", async () => {
  const guestPort = 20_000;
  const { guest, client, log } = await setup({ pong: false, listeners: [{ proto: "tcp", ip: "127.0.0.1", port: guestPort }] });
  const hostLow = 36_000;
  const rules = effectiveRules({ portForwards: [defaultedRule({ guestPortRange: [guestPort, guestPort + 99], hostPortRange: [hostLow, hostLow + 99] })] }, { sshLocalPort: 60022 });
  const forwarderLog = createMemoryLogger();
  const forwarder = startForwarder(client, { rules, catchAllIndex: rules.length - 1, guestUser: { uid: 0, gid: 0 }, log: forwarderLog, onChange: () => undefined });
  defer(() => forwarder.close());
  await until(() => forwarder.report().forwards.length === 1 || undefined, settleMs);
  const socketsBefore = ownSocketInodes().size;
  const started = performance.now();
  // A host program connects to the forward; the agent never answers the OPEN that would carry it.
  const socket = connect(hostLow, "127.0.0.1");
  socket.on("error", () => undefined);
  const ended = await new Promise<"closed" | "timeout">((resolve) => {
    socket.once("close", () => resolve("closed"));
    setTimeout(() => resolve("timeout"), settleMs).unref();
  });
  const endedMs = performance.now() - started;
  const tunnel = await until(() => forwarder.report().failures.find((failure) => failure.reason === "tunnel-failed"), settleMs);
  console.log(`  never answers OPEN: the host connection ended after ${Math.round(endedMs)} ms`);
  expect(ended).toBe("closed");
  expect(endedMs).toBeLessThan(3 * pingMs + 5_000);
  const lines = reported(log, /did not answer a ping/);
  expect(lines.length).toBeGreaterThan(0);
  await until(() => ownSocketInodes().size <= socketsBefore || undefined, settleMs);
  const leaked = Math.max(0, ownSocketInodes().size - socketsBefore);
  // The agent answers again: the forward carries nothing more, but the session is up and usable.
  guest.policy.pong = true;
  await connected(client);
  await sessionWorks(guest, client);
  await forwarder.close();
  recordFault({
    fault: "an agent that answers HELLO but never a ping or an OPEN",
    state: `session restarted ("${lines[0]}"), the connection reset and reported: ${tunnel.message}`,
    diskIntact: true,
    leaked: leaked + ownListeningPorts({ from: hostLow, to: hostLow + 99 }).length,
    silent: lines.length === 0 && forwarderLog.lines.length === 0,
  });
}, 30_000);

test("an agent that takes a listen request and never answers it: listenInGuest() fails within its bound, naming the socket", async () => {
  const listenTimeoutMs = 300;
  const { guest, client } = await setup({}, { listenTimeoutMs });
  await connected(client);
  const started = performance.now();
  const failed = await client.listenInGuest({ path: "/run/den-never.sock", uid: 0, gid: 0, mode: 0o600 }, () => undefined).catch((error: unknown) => error);
  const waitedMs = performance.now() - started;
  const message = failed instanceof Error ? failed.message : String(failed);
  expect(failed).toBeInstanceOf(DenError);
  expect({ code: (failed as DenError).code, message }).toEqual({ code: "GUEST_AGENT", message: 'Cannot listen on "/run/den-never.sock" in the guest: the guest agent did not answer within 0.3 s' });
  expect(waitedMs).toBeLessThan(listenTimeoutMs + 2_000);
  // The request went out, then was withdrawn: a late answer cannot open a socket nobody waits for.
  const sentTypes = () => guest.latest().received.map((frame) => (decodeJson(frame.payload) as { type?: string } | undefined)?.type);
  await until(() => sentTypes().includes("unlisten-unix") || undefined, settleMs);
  expect(sentTypes()).toEqual(expect.arrayContaining(["listen-unix", "unlisten-unix"]));
  await sessionWorks(guest, client);
  recordFault({
    fault: "an agent that never answers a listen request",
    state: `listenInGuest() failed after ${Math.round(waitedMs)} ms: ${message}`,
    diskIntact: true,
    leaked: 0,
    silent: false,
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Frames for streams that were never opened.

test("100,000 frames for stream ids that were never opened are dropped, reported in a bounded number of lines, and the session goes on", async () => {
  const { guest, client, log } = await setup();
  await connected(client);
  const kinds: Frame[] = [
    { type: FrameType.Data, stream: 1001, payload: zeros.subarray(0, 512) },
    { type: FrameType.Data, stream: 2_000_000, payload: zeros.subarray(0, 512) },
    { type: FrameType.Credit, stream: 4_001, payload: Uint8Array.of(0, 1, 0, 0) },
    { type: FrameType.End, stream: 7_000_002, payload: new Uint8Array(0) },
    { type: FrameType.Reset, stream: 9_999, payload: new TextEncoder().encode(JSON.stringify({ errno: "EIO", message: "gone" })) },
    { type: FrameType.Data, stream: 0, payload: zeros.subarray(0, 64) },
  ];
  const batch = concat(Array.from({ length: 1_000 }, (_, i) => encodeFrame(kinds[i % kinds.length] as Frame)));
  const before = memory();
  const sent = await flood(guest, 100 * batch.byteLength, () => batch);
  await sessionWorks(guest, client);
  const growth = grown(before, `100,000 frames for unknown stream ids (${mib(sent)})`);
  const lines = reported(log, /never opened|stream 0/);
  const answers = [...guest.latest().counts].filter(([type]) => type !== FrameType.Control && type !== FrameType.Hello).reduce((sum, [, count]) => sum + count, 0);
  console.log(`  unknown stream ids: ${lines.length} warning lines, ${log.lines.length} log lines in all, ${answers} stream frames sent back`);
  expect(client.state.state).toBe("connected");
  expect(guest.connections.length).toBe(1);
  expect(log.lines.length).toBeLessThanOrEqual(5 * 3);
  // Nothing to answer for a stream that does not exist: a flood of them is not turned into a flood back.
  expect(answers).toBe(0);
  expect(growth.heapUsed).toBeLessThan(MaxHeapGrowth);
  recordFault({
    fault: "100,000 DATA/CREDIT/END/RESET frames for stream ids never opened (and stream 0)",
    state: `dropped, warned (${lines[0] ?? "no warning"}), session still connected`,
    diskIntact: true,
    leaked: guest.open().length - 1,
    silent: lines.length === 0,
  });
}, 30_000);

// ---------------------------------------------------------------------------------------------------------------
// A flood of listeners.

test("10,000 guest listeners, sent again and again, open at most the default cap of host sockets in bounded memory, reported as a limit", async () => {
  const guestLow = 20_000;
  const hostRange = { from: 50_000, to: 59_999 };
  const count = hostRange.to - hostRange.from + 1;
  const listeners = (shift: number): GuestListener[] => Array.from({ length: count }, (_, i) => ({ proto: "tcp" as const, ip: "127.0.0.1", port: guestLow + ((i + shift) % count) }));
  // A pass over 10,000 listeners keeps the host busy for a moment (measured below): the default ping interval, so the
  // test's short one does not take that for a silent agent.
  const { guest, client } = await setup({}, { pingMs: 10_000 });
  await connected(client);
  const rules = effectiveRules(
    { portForwards: [defaultedRule({ guestPortRange: [guestLow, guestLow + count - 1], hostPortRange: [hostRange.from, hostRange.to] })] },
    { sshLocalPort: 60022 },
  );
  const log = createMemoryLogger();
  let reports = 0;
  const forwarder = startForwarder(client, { rules, catchAllIndex: rules.length - 1, guestUser: { uid: 0, gid: 0 }, log, onChange: () => reports++ });
  defer(() => forwarder.close());
  const limit = () => forwarder.report().failures.find((failure) => failure.reason === "limit");
  // Host ports another process of this machine holds fail as port-in-use: attempts within the cap all the same.
  const attempts = () => forwarder.report().forwards.length + forwarder.report().failures.filter((failure) => failure.reason === "port-in-use").length;
  const before = memory();
  const started = performance.now();
  guest.latest().send([control({ type: "listeners", listeners: listeners(0) })]);
  await until(() => (limit() && attempts() >= DefaultMaxPortForwards) || undefined, 30_000);
  const firstPassMs = performance.now() - started;
  // Churn: the guest sends the flood again and again, each time with the order and the set of ports moved. A second
  // round as large as the first shows whether memory follows the number of lists (it must not).
  const churn = async (from: number) => {
    for (let round = from; round < from + 20; round++) guest.latest().send([control({ type: "listeners", listeners: listeners(round * 97).slice(0, count - (round % 50)) })]);
    const last = from + 19;
    await until(() => limit()?.message.startsWith(`Cannot forward ${count - (last % 50) - DefaultMaxPortForwards} guest listeners`) || undefined, 30_000);
  };
  await churn(1);
  const afterFirst = grown(before, `10,000 listeners x 21 lists (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  const steady = memory();
  await churn(21);
  const listening = ownListeningPorts(hostRange).length;
  const more = grown(steady, `10,000 listeners x 20 lists more (${((performance.now() - started) / 1000).toFixed(1)} s in all)`);
  const growth = { heapUsed: afterFirst.heapUsed + more.heapUsed, rss: afterFirst.rss + more.rss };
  console.log(`  listener flood: first list applied in ${Math.round(firstPassMs)} ms; ${listening} host sockets listening, ${attempts()} forwards attempted, ${reports} reports, ${log.lines.length} log lines`);
  expect(attempts()).toBe(DefaultMaxPortForwards);
  expect(listening).toBeLessThanOrEqual(DefaultMaxPortForwards);
  const warnings = log.lines.filter((line) => line.level === "warn" && line.message.includes(`den forwards at most ${DefaultMaxPortForwards} ports`));
  expect(warnings.length).toBe(1);
  expect(growth.heapUsed).toBeLessThan(MaxHeapGrowth);
  expect(growth.rss).toBeLessThan(2 * MaxRssGrowth);
  expect(more.rss).toBeLessThan(MaxRssGrowth);
  // The flood ends: the waiting listeners are forwarded as the others go, the limit clears.
  guest.latest().send([control({ type: "listeners", listeners: listeners(0).slice(0, 5) })]);
  await until(() => (!limit() && attempts() === 5) || undefined, settleMs);
  await forwarder.close();
  recordFault({
    fault: "a flood of 10,000 guest listeners (41 lists)",
    state: `${listening} forwards (the default cap) and one limit failure, warned once; cleared once the flood ended`,
    diskIntact: true,
    leaked: ownListeningPorts(hostRange).length,
    silent: warnings.length === 0,
  });
}, 60_000);
