import { afterEach, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { mkdtemp } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { defaultedRule, effectiveRules } from "../../../lib/portfwd/effective-rules.ts";
import { type Forwarder, startForwarder } from "../../../lib/portfwd/forwarder.ts";
import type { PortForwardReport } from "../../../lib/portfwd/port-forward-report.ts";
import { type StandInGuestAgent, standInGuestAgent } from "./support/stand-in-guest-agent.ts";
import { type StandInHostForwarder, standInHostForwarder } from "./support/stand-in-host-forwarder.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A "guest" TCP server on 127.0.0.1 that answers every line with `reply`. */
async function guestTcpServer(reply: (text: string) => string, path?: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.on("data", (data) => socket.write(reply(data.toString()))));
  await new Promise<void>((resolve) => (path ? server.listen(path, resolve) : server.listen(0, "127.0.0.1", resolve)));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, port: path ? 0 : (server.address() as { port: number }).port };
}

async function request(target: { port: number } | { path: string }, text: string): Promise<string> {
  const socket = "path" in target ? connect(target.path) : connect(target.port, "127.0.0.1");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.write(text);
  });
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
  if (hostForwarder) cleanups.push(() => hostForwarder.closeAll());
  cleanups.push(() => forwarder.close());
  return { agent, forwarder, reports, log };
}

async function until<T>(probe: () => T | undefined, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

test("startForwarder() carries a TCP connection from the host port to the guest listener", async () => {
  const guest = await guestTcpServer((text) => `echo ${text}`);
  const hostPort = await freePort();
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
  cleanups.push(() => new Promise<void>((resolve) => guest.close(() => resolve())));
  const guestPort = (guest.address() as { port: number }).port;
  const hostPort = await freePort();
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
  const guest = await guestTcpServer((text) => text);
  const hostPort = await freePort();
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
  cleanups.push(() => new Promise<void>((resolve) => guest.close(() => resolve())));
  const guestPort = guest.address().port;
  const hostPort = await freePort();
  const { agent, forwarder } = start([{ guestPort, hostPort, proto: "udp" }]);
  agent.setListeners([{ proto: "udp", ip: "127.0.0.1", port: guestPort }]);
  await until(() => forwarder.report().forwards.length === 1);
  const client = createSocket("udp4");
  cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
  const replies: string[] = [];
  client.on("message", (datagram) => replies.push(datagram.toString()));
  client.send("one", hostPort, "127.0.0.1");
  client.send("two", hostPort, "127.0.0.1");
  await until(() => replies.length === 2);
  expect(replies.sort()).toEqual(["echo one", "echo two"]);
  expect(forwarder.report().forwards).toMatchObject([{ proto: "udp", guest: `127.0.0.1:${guestPort}`, host: `127.0.0.1:${hostPort}`, connections: 1 }]);
});

test("startForwarder() exposes a guest unix socket on the host", async () => {
  const dir = await mkdtemp(join(tmpdir(), "den-portfwd-"));
  const guestSocket = join(dir, "guest", "app.sock");
  await Bun.write(join(dir, "guest", ".keep"), "");
  await guestTcpServer((text) => `unix ${text}`, guestSocket);
  const hostSocket = join(dir, "host", "sock", "app.sock");
  const { forwarder } = start([{ guestSocket, hostSocket }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(await request({ path: hostSocket }, "ping")).toBe("unix ping");
  expect(forwarder.report().forwards).toMatchObject([{ proto: "unix", guest: guestSocket, host: hostSocket }]);
});

test("startForwarder() exposes a host unix socket in the guest for a reverse rule", async () => {
  const dir = await mkdtemp(join(tmpdir(), "den-portfwd-"));
  const hostSocket = join(dir, "host.sock");
  await guestTcpServer((text) => `host ${text}`, hostSocket);
  const guestSocket = join(dir, "in-guest.sock");
  const { forwarder } = start([{ guestSocket, hostSocket, reverse: true }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(await request({ path: guestSocket }, "ping")).toBe("host ping");
  expect(forwarder.report().forwards).toMatchObject([{ proto: "unix", guest: guestSocket, host: hostSocket, reverse: true }]);
});

test("startForwarder() honours an ignore rule", async () => {
  const guest = await guestTcpServer((text) => text);
  const hostPort = await freePort();
  const { agent, forwarder, log } = start([{ guestPort: guest.port, ignore: true }, { guestPort: guest.port, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await forwarder.synced;
  await Bun.sleep(50);
  expect(forwarder.report()).toEqual({ forwards: [], failures: [] });
  expect(log.lines.map((line) => line.message)).toContain(`Not forwarding TCP 127.0.0.1:${guest.port} (ignored by a rule)`);
});

test("startForwarder() reports a host port in use as a failure, and forwards once it is free", async () => {
  const guest = await guestTcpServer((text) => `ok ${text}`);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
  const hostPort = (squatter.address() as { port: number }).port;
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }]);
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  const failure = await until(() => forwarder.report().failures[0]);
  expect(failure).toEqual({
    reason: "port-in-use",
    proto: "tcp",
    guest: `127.0.0.1:${guest.port}`,
    host: `127.0.0.1:${hostPort}`,
    message: `Cannot forward guest TCP 127.0.0.1:${guest.port} to host 127.0.0.1:${hostPort}: host port ${hostPort} is already in use`,
    hint: "stop what holds the port on the host, or map the guest port elsewhere with a portForwards rule (hostPort)",
    since: expect.any(String),
  });
  expect(log.lines).toContainEqual({ level: "warn", message: failure.message });
  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(forwarder.report().failures).toEqual([]);
  expect(await request({ port: hostPort }, "again")).toBe("ok again");
});

test("startForwarder() reports a connection the guest refuses as a tunnel failure", async () => {
  const guestPort = await freePort();
  const hostPort = await freePort();
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
  const first = await guestTcpServer((text) => text);
  const second = await guestTcpServer((text) => text);
  const hostPort = await freePort();
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
  const guest = await guestTcpServer((text) => text);
  const hostPort = await freePort();
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
  const guest = await guestTcpServer((text) => `fast ${text}`);
  const hostPort = await freePort();
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
  const guestPort = await freePort();
  const hostPort = await freePort();
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder } = start([{ guestPort, hostPort, ...rule }], { hostForwarder });
  agent.setListeners([{ ...listener, port: guestPort }]);
  await until(() => forwarder.report().forwards.length === 1 || forwarder.report().failures.length > 0);
  expect(forwarder.report().forwards).toMatchObject([{ proto: listener.proto, via: "agent" }]);
  expect(hostForwarder.calls).toEqual([]);
});

test("startForwarder() falls back to the guest agent when the driver cannot forward for another reason than a taken port", async () => {
  const guest = await guestTcpServer((text) => `slow ${text}`);
  const hostPort = await freePort();
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
  const guest = await guestTcpServer((text) => text);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const hostPort = (squatter.address() as { port: number }).port;
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder, log } = start([{ guestPort: guest.port, hostPort }], { hostForwarder });
  agent.setListeners([{ proto: "tcp", ip: "0.0.0.0", port: guest.port }]);
  const failure = await until(() => forwarder.report().failures[0]);
  expect(failure).toEqual({
    reason: "port-in-use",
    proto: "tcp",
    guest: `0.0.0.0:${guest.port}`,
    host: `127.0.0.1:${hostPort}`,
    message: `Cannot forward guest TCP 0.0.0.0:${guest.port} to host 127.0.0.1:${hostPort}: host port ${hostPort} is already in use`,
    hint: "stop what holds the port on the host, or map the guest port elsewhere with a portForwards rule (hostPort)",
    since: expect.any(String),
  });
  expect(log.lines).toContainEqual({ level: "warn", message: failure.message });
  expect(forwarder.report().forwards).toEqual([]);
  expect(agent.opened).toEqual([]);
});

test("startForwarder() moves a forward to the guest agent when only a loopback listener on its port stays", async () => {
  const guest = await guestTcpServer((text) => `ok ${text}`);
  const hostPort = await freePort();
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
  const guest = await guestTcpServer((text) => text);
  const hostPort = await freePort();
  const hostForwarder = standInHostForwarder();
  const { agent, forwarder } = start([{ guestPort: guest.port, hostPort }], { hostForwarder });
  agent.setListeners([{ proto: "tcp", ip: "::", port: guest.port }]);
  await until(() => forwarder.report().forwards.length === 1);
  expect(hostForwarder.active).toEqual([hostPort]);
  await forwarder.close();
  expect(hostForwarder.active).toEqual([]);
});
