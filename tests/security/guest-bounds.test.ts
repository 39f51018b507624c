// Issue 12 #6, the guest's half: the guest is untrusted, and nothing it does may make the host agent open sockets,
// write log lines, fill the disk or buffer memory without a bound. A fake guest (the port forwarder's stand-in agent,
// or a raw socket speaking the agent protocol to the real host client) does the worst it can, and the test counts.
import { expect, test } from "bun:test";
import { closeSync, constants, openSync, readFileSync, statSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { decodeHandshake, decodeJson, encodeFrame, encodeHandshake, encodeJson, type Frame, FrameParser, FrameType } from "../../agent/protocol/frame.ts";
import { connectGuestAgent } from "../../lib/guestagent/connect-guest-agent.ts";
import type { GuestAgentClient, GuestAgentState } from "../../lib/guestagent/guest-agent-client.ts";
import type { GuestListener } from "../../agent/protocol/messages.ts";
import { formatEvent, type HostAgentEvent } from "../../lib/hostagent/events.ts";
import { followEvents } from "../../lib/hostagent/follow-events.ts";
import { createMemoryLogger } from "../../lib/log.ts";
import { defaultedRule, effectiveRules } from "../../lib/portfwd/effective-rules.ts";
import { startForwarder } from "../../lib/portfwd/forwarder.ts";
import type { PortForwardReport } from "../../lib/portfwd/port-forward-report.ts";
import { rotatingLog } from "../../lib/rotating-log.ts";
import { deferredCleanups, tempDir } from "../support/deferred-cleanups.ts";
import { ownListeningPorts } from "../faults/support/process-sockets.ts";
import { standInGuestAgent } from "../lib/portfwd/support/stand-in-guest-agent.ts";
import { until } from "../lib/portfwd/support/test-sockets.ts";

const defer = deferredCleanups();

/** How long a flood may take to settle: longer than the port-forwarding tests' default. */
const settleMs = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// The cap on forwards.

const GuestFirstPort = 20_000;
const HostFirstPort = 47_000;
const Listeners = 2_000;
const Cap = 50;

function guestListeners(from: number, to: number): GuestListener[] {
  return Array.from({ length: to - from }, (_, i) => ({ proto: "tcp" as const, ip: "127.0.0.1", port: GuestFirstPort + from + i }));
}

/** How many TCP sockets this process listens on in the rule's host range: the host sockets that really exist. */
function listeningHostPorts(): number {
  return ownListeningPorts({ from: HostFirstPort, to: HostFirstPort + Listeners - 1 }).length;
}

test("2,000 guest listeners open at most the cap of host sockets, reported once as a limit failure", async () => {
  const agent = standInGuestAgent();
  const rules = effectiveRules(
    { portForwards: [defaultedRule({ guestPortRange: [GuestFirstPort, GuestFirstPort + Listeners - 1], hostPortRange: [HostFirstPort, HostFirstPort + Listeners - 1] })] },
    { sshLocalPort: 60022 },
  );
  const log = createMemoryLogger();
  const reports: PortForwardReport[] = [];
  const forwarder = startForwarder(agent, {
    rules,
    catchAllIndex: rules.length - 1,
    guestUser: { uid: 0, gid: 0 },
    log,
    maxForwards: Cap,
    onChange: (report) => reports.push(report),
  });
  defer(() => forwarder.close());
  const limitFailures = () => forwarder.report().failures.filter((failure) => failure.reason === "limit");
  const limitWarnings = () => log.lines.filter((line) => line.level === "warn" && line.message.includes(`den forwards at most ${Cap} ports`));
  // Host ports some other process on this machine holds fail as port-in-use: they are attempts within the cap too.
  const attempts = () => forwarder.report().forwards.length + forwarder.report().failures.filter((failure) => failure.reason === "port-in-use").length;

  agent.setListeners(guestListeners(0, Listeners));
  await until(() => limitFailures().length > 0 && attempts() >= Cap, 30_000);
  await Bun.sleep(100);
  expect(attempts()).toBe(Cap);
  expect(listeningHostPorts()).toBeLessThanOrEqual(Cap);
  expect(listeningHostPorts()).toBe(forwarder.report().forwards.length);
  expect(limitFailures()).toEqual([
    {
      reason: "limit",
      message: `Cannot forward ${Listeners - Cap} guest listeners (TCP 127.0.0.1:${GuestFirstPort + Cap}, TCP 127.0.0.1:${GuestFirstPort + Cap + 1}, TCP 127.0.0.1:${GuestFirstPort + Cap + 2}, and ${Listeners - Cap - 3} more): den forwards at most ${Cap} ports per instance`,
      hint: "stop listeners you do not need in the guest, ignore them with a portForwards rule, or raise DEN_MAX_PORT_FORWARDS in the environment of den start; forwards are made as others go away",
      since: expect.any(String),
    },
  ]);
  expect(limitWarnings().length).toBe(1);
  // One report (one ha.stdout.log event) per listener list, not one per forward.
  expect(reports.length).toBeLessThanOrEqual(3);

  // More listeners while capped: the failure's count follows, the warning is not repeated.
  agent.setListeners(guestListeners(0, Listeners + 1).map((listener, i) => (i === Listeners ? { ...listener, port: GuestFirstPort - 1 } : listener)));
  await until(() => limitFailures()[0]?.message.startsWith(`Cannot forward ${Listeners - Cap} guest listeners`) === false || undefined, settleMs);
  expect(limitWarnings().length).toBe(1);

  // The forwarded listeners go away: the waiting ones get forwarded, and the failure clears.
  agent.setListeners(guestListeners(Listeners - 10, Listeners));
  await until(() => limitFailures().length === 0 && attempts() === 10, settleMs);
  expect(forwarder.report().forwards.map((forward) => forward.guest)).toContain(`127.0.0.1:${GuestFirstPort + Listeners - 1}`);
}, 60_000);

// ---------------------------------------------------------------------------------------------------------------
// A fake guest agent on a unix socket, speaking the protocol to the real host client.

interface FakeGuest {
  path: string;
  /** Every connection the host made, newest last. */
  sockets: Socket[];
  /** Frames the host sent (HELLOs excluded), in order. */
  received: Frame[];
  welcomes: number;
  send(socket: Socket, frames: readonly Frame[]): boolean;
  /** Called after the WELCOME of each connection's first HELLO (the session is up). */
  onSession?: (socket: Socket, connection: number) => void;
}

async function fakeGuest(): Promise<FakeGuest> {
  const dir = await tempDir(defer);
  const guest: FakeGuest = {
    path: join(dir, "ga.sock"),
    sockets: [],
    received: [],
    welcomes: 0,
    send: (socket, frames) => socket.write(Buffer.concat(frames.map((frame) => encodeFrame(frame)))),
  };
  const server: Server = createServer((socket) => {
    const connection = guest.sockets.push(socket);
    socket.on("error", () => undefined);
    const parser = new FrameParser(FrameType.Hello);
    let sessions = 0;
    socket.on("data", (chunk: Buffer) => {
      for (const item of parser.push(chunk)) {
        if (item.kind !== "frame") continue;
        if (item.frame.type !== FrameType.Hello) {
          guest.received.push({ ...item.frame, payload: item.frame.payload.slice() });
          continue;
        }
        const nonce = (decodeHandshake(item.frame.payload) as { nonce: string }).nonce;
        guest.welcomes++;
        socket.write(encodeFrame({ type: FrameType.Welcome, stream: 0, payload: encodeHandshake({ nonce, version: "fake", protocol: 1, arch: "x86_64" }) }));
        if (sessions++ === 0) guest.onSession?.(socket, connection);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(guest.path, resolve));
  defer(() => {
    for (const socket of guest.sockets) socket.destroy();
    server.close();
  });
  return guest;
}

function client(guest: FakeGuest, options: { maxGuestStreams?: number; maxUnsentBytes?: number } = {}) {
  const log = createMemoryLogger();
  const agent = connectGuestAgent({ transport: "unix", path: guest.path }, { log, retryMs: 20, ...options });
  defer(() => agent.close());
  return { agent, log };
}

async function state(agent: GuestAgentClient, wanted: GuestAgentState["state"]): Promise<void> {
  await until(() => agent.state.state === wanted || undefined, settleMs);
}

const control = (message: unknown): Frame => ({ type: FrameType.Control, stream: 0, payload: encodeJson(message) });

/** Bad frames the host logs a line for, each a different kind of mistake. */
const badFrames: Frame[] = [
  { type: FrameType.Control, stream: 0, payload: new TextEncoder().encode("not json{") },
  control({ type: "error", message: "the guest says\nwarning: a forged host log line" }),
  { type: FrameType.Opened, stream: 1001, payload: new Uint8Array(0) },
  { type: FrameType.Open, stream: 7, payload: encodeJson({ kind: "tcp", host: "127.0.0.1", port: 1 }) },
  control({ type: "fs-events", events: [] }),
];
/** A header of an unknown frame type: unreadable input, after which the host starts the session over. */
const garbageHeader = Uint8Array.of(0x7f, 0, 0, 0, 0, 0, 0, 0, 0);

test("10,000 bad frames from the guest write a bounded number of host log lines, and the session still works", async () => {
  const guest = await fakeGuest();
  const { agent, log } = client(guest);
  await state(agent, "connected");
  const rounds = 100;
  for (let round = 0; round < rounds; round++) {
    const socket = guest.sockets.at(-1) as Socket;
    const welcomes = guest.welcomes;
    const frames = Array.from({ length: 100 }, (_, i) => badFrames[i % badFrames.length] as Frame);
    socket.write(Buffer.concat([...frames.map((frame) => encodeFrame(frame)), garbageHeader]));
    // The garbage makes the host say HELLO again; the fake guest answers, and the next round starts on a live session.
    await until(() => guest.welcomes > welcomes && agent.state.state === "connected", settleMs);
  }
  const lines = log.lines.length;
  // Five kinds of guest-driven lines (session, connected, input, control, streams), five each per minute.
  expect(lines).toBeLessThanOrEqual(5 * 5);
  expect(log.lines.every((line) => !line.message.includes("\n"))).toBe(true);

  const listeners = new Promise<readonly GuestListener[]>((resolve) => agent.onListeners((list) => list.length > 0 && resolve(list)));
  guest.send(guest.sockets.at(-1) as Socket, [control({ type: "listeners", listeners: [{ proto: "tcp", ip: "127.0.0.1", port: 8080 }] })]);
  expect(await listeners).toEqual([{ proto: "tcp", ip: "127.0.0.1", port: 8080 }]);

  await agent.close();
  const summaries = log.lines.slice(lines).filter((line) => /more lines like this suppressed in the last 60 s$/.test(line.message));
  expect(summaries.map((line) => line.message.split(":")[0]).sort()).toEqual(["guest agent connected", "guest agent control", "guest agent input", "guest agent session", "guest agent streams"]);
}, 60_000);

test("a guest that opens 5,000 streams to a host socket gets at most the cap, the rest refused with EMFILE", async () => {
  const guest = await fakeGuest();
  const { agent } = client(guest, { maxGuestStreams: 100 });
  await state(agent, "connected");
  const accepted: unknown[] = [];
  const listening = agent.listenInGuest({ path: "/run/den-test.sock", uid: 0, gid: 0, mode: 0o600 }, (stream) => accepted.push(stream));
  const request = await until(() => guest.received.find((frame) => frame.type === FrameType.Control && (decodeJson(frame.payload) as { type?: string }).type === "listen-unix"), settleMs);
  const id = (decodeJson(request.payload) as { id: number }).id;
  const socket = guest.sockets.at(-1) as Socket;
  guest.send(socket, [control({ type: "listen-unix-result", id, ok: true })]);
  await listening;
  const opens = Array.from({ length: 5_000 }, (_, i): Frame => ({ type: FrameType.Open, stream: 2 * (i + 1), payload: encodeJson({ kind: "listener", id }) }));
  guest.send(socket, opens);
  const refused = () => guest.received.filter((frame) => frame.type === FrameType.Reset && (decodeJson(frame.payload) as { errno?: string }).errno === "EMFILE").length;
  await until(() => accepted.length + refused() >= 5_000 || undefined, settleMs);
  expect(accepted.length).toBe(100);
  expect(refused()).toBe(4_900);
}, 30_000);

test("a guest that floods without reading loses its connection before the host buffers without end", async () => {
  const guest = await fakeGuest();
  const flood = Promise.withResolvers<{ frames: number; closed: boolean }>();
  // The first session: stop reading, then ask for streams nobody listens for, each answered by a RESET.
  guest.onSession = (socket, connection) => {
    if (connection !== 1) return;
    socket.pause();
    let closed = false;
    socket.once("close", () => (closed = true));
    void (async () => {
      let frames = 0;
      let stream = 2;
      while (!closed && frames < 1_000_000) {
        const batch = Array.from({ length: 2_000 }, (): Frame => ({ type: FrameType.Open, stream: (stream += 2), payload: encodeJson({ kind: "listener", id: 999 }) }));
        frames += batch.length;
        if (!socket.write(Buffer.concat(batch.map((frame) => encodeFrame(frame))))) {
          await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), new Promise((resolve) => socket.once("close", resolve))]);
        }
      }
      flood.resolve({ frames, closed });
    })();
  };
  Bun.gc(true);
  const before = process.memoryUsage().rss;
  const { agent, log } = client(guest, { maxUnsentBytes: 1024 * 1024 });
  const outcome = await flood.promise;
  Bun.gc(true);
  const grown = process.memoryUsage().rss - before;
  expect(outcome.closed).toBe(true);
  expect(outcome.frames).toBeLessThan(1_000_000);
  expect(grown).toBeLessThan(64 * 1024 * 1024);
  expect(log.lines.some((line) => line.message.includes("does not read its end"))).toBe(true);
  // The host dials again and the next session works.
  await until(() => guest.sockets.length >= 2 && agent.state.state === "connected", settleMs);
}, 60_000);

// ---------------------------------------------------------------------------------------------------------------
// Rotated logs.

test.each([
  { name: "as den start opens it (O_APPEND)", flags: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND },
  { name: "opened without O_APPEND", flags: "w" },
])("ha.stdout.log past the rotation size is rotated and a follower keeps reading events ($name)", async ({ flags }) => {
  const dir = await tempDir(defer);
  const path = join(dir, "ha.stdout.log");
  const fd = openSync(path, flags);
  defer(() => closeSync(fd));
  const maxBytes = 16 * 1024;
  const events = rotatingLog(fd, { path, maxBytes });
  const abort = new AbortController();
  defer(() => abort.abort());
  const seen: HostAgentEvent[] = [];
  const following = (async () => {
    for await (const event of followEvents(path, { signal: abort.signal, pollMs: 2 })) {
      seen.push(event);
      if (event.status.warnings?.[0] === "last") return;
    }
  })();
  const padding = "x".repeat(400);
  const total = 400;
  for (let i = 0; i < total; i++) {
    events.write(formatEvent({ running: true, degraded: false, exiting: false, errors: [padding], warnings: [i === total - 1 ? "last" : String(i)] }, new Date()));
    // The follower catches up now and then, as a 100 ms poll does with a host agent whose lines are rate-limited.
    if (i % 8 === 7 && i < total - 1) await until(() => seen.at(-1)?.status.warnings?.[0] === String(i) || undefined, settleMs);
  }
  await following;
  expect(seen.at(-1)?.status.warnings).toEqual(["last"]);
  // Every event came whole and in order: no torn line, no NUL hole read as an event.
  const numbers = seen.map((event) => event.status.warnings?.[0]).filter((text) => text !== "last").map(Number);
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  // Copy-then-truncate may cost a follower the lines it had not read yet when the file was cut (they are in .1):
  // each event holds the whole status, so the next one makes up for it.
  expect(numbers.length).toBeGreaterThanOrEqual(total / 2);
  for (const file of [path, `${path}.1`]) {
    expect(statSync(file).size).toBeLessThanOrEqual(maxBytes);
    expect(readFileSync(file, "utf8")).not.toContain("\0");
  }
}, 30_000);
