import { expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { defaultedRule, effectiveRules } from "../../../lib/portfwd/effective-rules.ts";
import { type Forwarder, startForwarder } from "../../../lib/portfwd/forwarder.ts";
import type { PortForwardReport } from "../../../lib/portfwd/port-forward-report.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { type StandInGuestAgent, standInGuestAgent } from "./support/stand-in-guest-agent.ts";
import { type StandInHostForwarder, standInHostForwarder } from "./support/stand-in-host-forwarder.ts";
import { heldPort, replyServer, request, until } from "./support/test-sockets.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

const defer = deferredCleanups();

/** The failure of a forward of `guest` whose host port another process holds. */
function portInUse(guest: string, hostPort: number) {
  return {
    reason: "port-in-use" as const,
    proto: "tcp" as const,
    guest,
    host: `127.0.0.1:${hostPort}`,
    message: `Cannot forward guest TCP ${guest} to host 127.0.0.1:${hostPort}: host port ${hostPort} is already in use`,
    hint: "stop what holds the port on the host, or map the guest port elsewhere with a portForwards rule (hostPort)",
    since: expect.any(String),
  };
}

interface Started {
  agent: StandInGuestAgent;
  forwarder: Forwarder;
  reports: PortForwardReport[];
  log: ReturnType<typeof createMemoryLogger>;
}

function start(user: Partial<FilledPortForward>[], options: { agent?: StandInGuestAgent; agentGraceMs?: number; hostForwarder?: StandInHostForwarder } = {}): Started {
  const agent = options.agent ?? standInGuestAgent();
  const rules = effectiveRules({ portForwards: user.map(defaultedRule) }, { sshLocalPort: 60022 });
  const reports: PortForwardReport[] = [];
  const log = createMemoryLogger();
  const forwarder = startForwarder(agent, {
    rules,
    catchAllIndex: rules.length - 1,
    guestUser: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    log,
    onChange: (report) => reports.push(report),
    udpIdleMs: 1_000,
    ...(options.agentGraceMs !== undefined && { agentGraceMs: options.agentGraceMs }),
    ...(options.hostForwarder && { hostForwarder: options.hostForwarder }),
  });
  const hostForwarder = options.hostForwarder;
  if (hostForwarder) defer(() => hostForwarder.closeAll());
  defer(() => forwarder.close());
  return { agent, forwarder, reports, log };
}

test("startForwarder() carries a TCP connection from the host port to the guest listener", async () => {
  const guest = await replyServer((text) => `echo ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await forwarder.synced;
  await until(() => forwarder.report().forwards.length === 1);
  expect(await request({ port: hostPort }, "hello")).toBe("echo hello");
  expect(forwarder.report().forwards).toEqual([
    { proto: "tcp", guest: `127.0.0.1:${guest.port}`, host: `127.0.0.1:${hostPort}`, via: "agent", since: expect.any(String), connections: 1 },
  ]);
  expect(forwarder.report().failures).toEqual([]);
  expect(agent.opened).toEqual([{ kind: "tcp", host: "127.0.0.1", port: guest.port }]);
  expect(log.lines).toContainEqual({ level: "info", message: `Forwarding TCP from 127.0.0.1:${guest.port} to 127.0.0.1:${hostPort}` });
});

test("startForwarder() moves a large transfer both ways intact", async () => {
  const guest = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => guest.listen(0, "127.0.0.1", resolve));
  defer(() => new Promise<void>((resolve) => guest.close(() => resolve())));
  const guestPort = (guest.address() as { port: number }).port;
  const hostPort = await freeTcpPort();
  const { agent, forwarder } = start([{ guestPort, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "0.0.0.0", port: guestPort }]);
  await until(() => forwarder.report().forwards.length === 1);
  const payload = Buffer.alloc(8 * 1024 * 1024, 7);
  const socket = connect(hostPort, "127.0.0.1");
  const received: Buffer[] = [];
  let length = 0;
  const done = new Promise<void>((resolve) =>
    socket.on("data", (chunk) => {
      received.push(chunk);
      length += chunk.length;
      if (length >= payload.length) resolve();
    }),
  );
  socket.write(payload);
  await done;
  socket.destroy();
  expect(Buffer.concat(received).equals(payload)).toBe(true);
});

test("startForwarder() closes the host listener when the guest listener goes away", async () => {
  const guest = await replyServer((text) => text, { defer });
  const hostPort = await freeTcpPort();
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  agent.setListeners([]);
  await until(() => forwarder.report().forwards.length === 0);
  await expect(request({ port: hostPort }, "x")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  expect(log.lines).toContainEqual({ level: "info", message: `Stopped forwarding TCP from 127.0.0.1:${guest.port} to 127.0.0.1:${hostPort}` });
});

test("startForwarder() echoes UDP datagrams through a per-peer guest stream", async () => {
  const guest = createSocket("udp4");
  guest.on("message", (datagram, from) => guest.send(Buffer.concat([Buffer.from("echo "), datagram]), from.port, from.address));
  await new Promise<void>((resolve) => guest.bind(0, "127.0.0.1", resolve));
  defer(() => new Promise<void>((resolve) => guest.close(() => resolve())));
  const guestPort = guest.address().port;
  const hostPort = await freeTcpPort();
  const { agent, forwarder } = start([{ guestPort, hostPort, proto: "udp" }]);
  agent.setListeners([{ proto: "udp", ip: "127.0.0.1", port: guestPort }]);
  await until(() => forwarder.report().forwards.length === 1);
  const client = createSocket("udp4");
  defer(() => new Promise<void>((resolve) => client.close(() => resolve())));
  const replies: string[] = [];
  client.on("message", (datagram) => replies.push(datagram.toString()));
  client.send("one", hostPort, "127.0.0.1");
  client.send("two", hostPort, "127.0.0.1");
  await until(() => replies.length === 2);
  expect(replies.sort()).toEqual(["echo one", "echo two"]);
  expect(forwarder.report().forwards).toMatchObject([{ proto: "udp", guest: `127.0.0.1:${guestPort}`, host: `127.0.0.1:${hostPort}`, connections: 1 }]);
});

test("startForwarder() exposes a host unix socket in the guest for a reverse rule once the agent is connected", async () => {
  const dir = await tempDir(defer);
  const hostSocket = join(dir, "host.sock");
  await replyServer((text) => `host ${text}`, { defer, path: hostSocket });
  const guestSocket = join(dir, "in-guest.sock");
  const { forwarder } = start([{ guestSocket, hostSocket, reverse: true }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(await request({ path: guestSocket }, "ping")).toBe("host ping");
  expect(forwarder.report().forwards).toMatchObject([{ proto: "unix", guest: guestSocket, host: hostSocket, reverse: true }]);
});

test("startForwarder() honours an ignore rule", async () => {
  const guest = await replyServer((text) => text, { defer });
  const hostPort = await freeTcpPort();
  const { agent, forwarder, log } = start([{ guestPort: guest.port, ignore: true }, { guestPort: guest.port, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await forwarder.synced;
  await Bun.sleep(50);
  expect(forwarder.report()).toEqual({ forwards: [], failures: [] });
  expect(log.lines.map((line) => line.message)).toContain(`Not forwarding TCP 127.0.0.1:${guest.port} (ignored by a rule)`);
});

test("startForwarder() reports a host port in use as a failure, and forwards once it is free", async () => {
  const guest = await replyServer((text) => `ok ${text}`, { defer });
  const squatter = await heldPort();
  const hostPort = squatter.port;
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  const failure = await until(() => forwarder.report().failures[0]);
  expect(failure).toEqual(portInUse(`127.0.0.1:${guest.port}`, hostPort));
  expect(log.lines).toContainEqual({ level: "warn", message: failure.message });
  await squatter.close();
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(forwarder.report().failures).toEqual([]);
  expect(await request({ port: hostPort }, "again")).toBe("ok again");
});

test("startForwarder() reports a connection the guest refuses as a tunnel failure", async () => {
  const guestPort = await freeTcpPort();
  const hostPort = await freeTcpPort();
  const { agent, forwarder } = start([{ guestPort, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guestPort }]);
  await until(() => forwarder.report().forwards.length === 1);
  const socket = connect(hostPort, "127.0.0.1");
  await new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const failure = await until(() => forwarder.report().failures[0]);
  expect(failure).toMatchObject({ reason: "tunnel-failed", proto: "tcp", guest: `127.0.0.1:${guestPort}`, host: `127.0.0.1:${hostPort}` });
  expect(failure.message).toContain("ECONNREFUSED");
});

test("startForwarder() reports a rule conflict for two guest ports on one host port", async () => {
  const first = await replyServer((text) => text, { defer });
  const second = await replyServer((text) => text, { defer });
  const hostPort = await freeTcpPort();
  const { agent, forwarder } = start([
    { guestPort: first.port, hostPort },
    { guestPort: second.port, hostPort },
  ]);
  agent.setListeners([
    { proto: "tcp", ip: "127.0.0.1", port: first.port },
    { proto: "tcp", ip: "127.0.0.1", port: second.port },
  ]);
  await until(() => forwarder.report().forwards.length === 1 && forwarder.report().failures.length === 1);
  const [holder, refused] = first.port < second.port ? [first.port, second.port] : [second.port, first.port];
  expect(forwarder.report().failures[0]).toMatchObject({
    reason: "conflict",
    host: `127.0.0.1:${hostPort}`,
    message: `Cannot forward guest TCP 127.0.0.1:${refused} to host 127.0.0.1:${hostPort}: guest 127.0.0.1:${holder} is already forwarded there (rules map both to one host port)`,
  });
});

test("startForwarder() closes the forwards and reports when the guest agent disconnects", async () => {
  const guest = await replyServer((text) => text, { defer });
  const hostPort = await freeTcpPort();
  const { agent, forwarder } = start([{ guestPort: guest.port, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  agent.setState({ state: "disconnected", reason: "the virtio port closed" });
  await until(() => forwarder.report().forwards.length === 0);
  expect(forwarder.report().failures).toMatchObject([{ reason: "no-agent", message: "Cannot forward guest ports: the guest agent is disconnected (the virtio port closed)" }]);
  agent.setState({ state: "connected", info: { version: "test", protocol: 1, arch: "x86_64" } });
  await until(() => forwarder.report().forwards.length === 1);
  expect(forwarder.report().failures).toEqual([]);
});

test("startForwarder() reports an agent that never connects", async () => {
  const { forwarder } = start([], { agent: standInGuestAgent({ state: "connecting" }), agentGraceMs: 20 });
  await forwarder.synced;
  expect(forwarder.report().failures).toMatchObject([{ reason: "no-agent", message: "Cannot forward guest ports: the guest agent has not connected yet" }]);
});

test("startForwarder() has the driver forward a 0.0.0.0 TCP listener, and removes the forward when the listener goes", async () => {
  const guest = await replyServer((text) => `fast ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }], { hostForwarder });
  agent.setListeners([{ proto: "tcp", ip: "0.0.0.0", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(await request({ port: hostPort }, "hello")).toBe("fast hello");
  expect(forwarder.report().forwards).toEqual([
    { proto: "tcp", guest: `0.0.0.0:${guest.port}`, host: `127.0.0.1:${hostPort}`, via: "qemu-hostfwd", since: expect.any(String), connections: 0 },
  ]);
  expect(agent.opened).toEqual([]);
  expect(log.lines).toContainEqual({ level: "info", message: `Forwarding TCP from 0.0.0.0:${guest.port} to 127.0.0.1:${hostPort} (through QEMU)` });
  agent.setListeners([]);
  await until(() => forwarder.report().forwards.length === 0);
  const forward = { proto: "tcp" as const, hostIP: "127.0.0.1", hostPort, guestPort: guest.port };
  expect(hostForwarder.calls).toEqual([
    { call: "add", forward },
    { call: "remove", forward },
  ]);
  await expect(request({ port: hostPort }, "x")).rejects.toMatchObject({ code: "ECONNREFUSED" });
});

test.each([
  { name: "a 127.0.0.1 listener", listener: { proto: "tcp" as const, ip: "127.0.0.1" }, rule: {} },
  { name: "a UDP listener on 0.0.0.0", listener: { proto: "udp" as const, ip: "0.0.0.0" }, rule: { proto: "udp" as const } },
  { name: "a 0.0.0.0 listener forwarded to host ::1", listener: { proto: "tcp" as const, ip: "0.0.0.0" }, rule: { hostIP: "::1" } },
])("startForwarder() keeps $name on the guest agent even when the driver can forward", async ({ listener, rule }) => {
  const guestPort = await freeTcpPort();
  const hostPort = await freeTcpPort();
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder } = start([{ guestPort, hostPort, ...rule }], { hostForwarder });
  agent.setListeners([{ ...listener, port: guestPort }]);
  await until(() => forwarder.report().forwards.length === 1 || forwarder.report().failures.length > 0);
  expect(forwarder.report().forwards).toMatchObject([{ proto: listener.proto, via: "agent" }]);
  expect(hostForwarder.calls).toEqual([]);
});

test("startForwarder() falls back to the guest agent when the driver cannot forward for another reason than a taken port", async () => {
  const guest = await replyServer((text) => `slow ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const hostForwarder = standInHostForwarder();
  hostForwarder.failWith = { ok: false, reason: "listen-failed", detail: `QEMU answered "unrecognized netdev id 'net0'"` };
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }], { hostForwarder });
  agent.setListeners([{ proto: "tcp", ip: "0.0.0.0", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(await request({ port: hostPort }, "hello")).toBe("slow hello");
  expect(forwarder.report()).toEqual({
    forwards: [{ proto: "tcp", guest: `0.0.0.0:${guest.port}`, host: `127.0.0.1:${hostPort}`, via: "agent", since: expect.any(String), connections: 1 }],
    failures: [],
  });
  expect(log.lines).toContainEqual({
    level: "info",
    message: `Cannot forward guest TCP 0.0.0.0:${guest.port} to host 127.0.0.1:${hostPort} through QEMU (QEMU answered "unrecognized netdev id 'net0'"): using the guest agent instead`,
  });
});

test("startForwarder() reports a host port the driver finds taken, without falling back", async () => {
  const guest = await replyServer((text) => text, { defer });
  const squatter = await heldPort();
  defer(squatter.close);
  const hostPort = squatter.port;
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }], { hostForwarder });
  agent.setListeners([{ proto: "tcp", ip: "0.0.0.0", port: guest.port }]);
  const failure = await until(() => forwarder.report().failures[0]);
  expect(failure).toEqual(portInUse(`0.0.0.0:${guest.port}`, hostPort));
  expect(log.lines).toContainEqual({ level: "warn", message: failure.message });
  expect(forwarder.report().forwards).toEqual([]);
  expect(agent.opened).toEqual([]);
});

test("startForwarder() moves a forward to the guest agent when only a loopback listener on its port stays", async () => {
  const guest = await replyServer((text) => `ok ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder } = start([{ guestPort: guest.port, hostPort }], { hostForwarder });
  agent.setListeners([
    { proto: "tcp", ip: "0.0.0.0", port: guest.port },
    { proto: "tcp", ip: "127.0.0.1", port: guest.port },
  ]);
  await until(() => forwarder.report().forwards[0]?.via === "qemu-hostfwd");
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await until(() => forwarder.report().forwards[0]?.via === "agent");
  expect(hostForwarder.active).toEqual([]);
  expect(await request({ port: hostPort }, "again")).toBe("ok again");
  expect(agent.opened).toEqual([{ kind: "tcp", host: "127.0.0.1", port: guest.port }]);
});

test("startForwarder() removes the driver's forwards when it closes", async () => {
  const guest = await replyServer((text) => text, { defer });
  const hostPort = await freeTcpPort();
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder } = start([{ guestPort: guest.port, hostPort }], { hostForwarder });
  agent.setListeners([{ proto: "tcp", ip: "::", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(hostForwarder.active).toEqual([hostPort]);
  await forwarder.close();
  expect(hostForwarder.active).toEqual([]);
});
