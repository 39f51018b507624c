import { afterEach, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { stat } from "node:fs/promises";
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { DenError } from "../../../lib/errors.ts";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import { type Harness, startHarness } from "../../agent/agent-harness.ts";
import { until } from "../portfwd/support/test-sockets.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  cleanups.push(() => h.stop());
  return h;
}

async function tcpServer(onConnection: (socket: Socket) => void, host = "127.0.0.1"): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  return (server.address() as AddressInfo).port;
}

function nextListeners(h: Harness, predicate: (listeners: readonly GuestListener[]) => boolean): Promise<readonly GuestListener[]> {
  return new Promise((resolve) => {
    const off = h.client.onListeners((listeners) => {
      if (!predicate(listeners)) return;
      queueMicrotask(() => off());
      resolve(listeners);
    });
  });
}

test("connectGuestAgent() connects, completes the handshake and reports the agent's version, protocol and arch", async () => {
  const h = await harness();
  const state = await h.waitForState("connected");
  expect(state).toEqual({ state: "connected", info: { version: "9.9.9-test", protocol: 3, arch: "x86_64" } });
  expect(h.hostLog.lines.some((line) => line.level === "info" && line.message.includes("guest agent connected: den-guestagent 9.9.9-test"))).toBe(true);
});

test.each([
  { name: "a new host and a new agent", host: { min: 1, max: 2 }, agent: { min: 1, max: 2 }, protocol: 2 },
  { name: "a new host and an old agent", host: { min: 1, max: 2 }, agent: { min: 1, max: 1 }, protocol: 1 },
  { name: "an old host and a new agent", host: { min: 1, max: 1 }, agent: { min: 1, max: 2 }, protocol: 1 },
  { name: "an old host and an old agent", host: { min: 1, max: 1 }, agent: { min: 1, max: 1 }, protocol: 1 },
])("connectGuestAgent() agrees on protocol $protocol with $name and carries 3 MiB each way byte for byte", async ({ host, agent, protocol }) => {
  const h = await harness({ hostProtocols: host, agentProtocols: agent });
  const port = await tcpServer((socket) => socket.pipe(socket));
  const state = await h.waitForState("connected");
  expect(state).toMatchObject({ info: { protocol } });
  const stream = await h.client.openStream({ kind: "tcp", host: "127.0.0.1", port });
  const sent = randomBytes(3 * 1024 * 1024);
  stream.end(sent);
  expect((await buffer(stream)).equals(sent)).toBe(true);
}, 30_000);

test("connectGuestAgent() gives up on an agent with no protocol version in common and says why", async () => {
  const h = await harness({ hostProtocols: { min: 2, max: 2 }, agentProtocols: { min: 1, max: 1 } });
  await until(() => h.hostLog.lines.some((line) => line.level === "error" && line.message.includes("the agent speaks protocol 1..1, the host 2..2")));
  expect(h.client.state.state).not.toBe("connected");
});

test("onListeners() gets the full list on connect and again on every change", async () => {
  const h = await harness();
  h.setListeners([{ proto: "tcp", ip: "0.0.0.0", port: 22 }]);
  expect(await nextListeners(h, (list) => list.length === 1)).toEqual([{ proto: "tcp", ip: "0.0.0.0", port: 22 }]);
  const next = [
    { proto: "tcp" as const, ip: "0.0.0.0", port: 22 },
    { proto: "udp" as const, ip: "::", port: 5353 },
  ];
  const changed = nextListeners(h, (list) => list.length === 2);
  h.setListeners(next);
  expect(await changed).toEqual(next);
});

test("openStream() carries a tcp connection both ways and passes half-closes through", async () => {
  const h = await harness();
  const port = await tcpServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    // Answers only after the host half-closed: proves END arrives while the other direction stays open.
    socket.on("end", () => socket.end(`got ${Buffer.concat(chunks).toString().toUpperCase()}`));
  });
  await h.waitForState("connected");
  const stream = await h.client.openStream({ kind: "tcp", host: "127.0.0.1", port });
  stream.end("hello");
  expect((await buffer(stream)).toString()).toBe("got HELLO");
});

test.each([
  { name: "a closed tcp port", target: { kind: "tcp" as const, host: "127.0.0.1", port: 1 }, errno: "ECONNREFUSED" },
  { name: "a missing unix socket", target: { kind: "unix" as const, path: "/nonexistent/den.sock" }, errno: "ENOENT" },
])("openStream() to $name rejects with a DenError naming the guest's errno", async ({ target, errno }) => {
  const h = await harness();
  await h.waitForState("connected");
  const error = await h.client.openStream(target).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DenError);
  expect(error).toMatchObject({ code: "GUEST_AGENT", details: { errno } });
  expect((error as Error).message).toContain(errno);
});

test("openStream() rejects at once when no agent is connected", async () => {
  const h = await harness({ connectClient: true });
  await h.client.close();
  await expect(h.client.openStream({ kind: "tcp", host: "127.0.0.1", port: 80 })).rejects.toThrow("Cannot open tcp 127.0.0.1:80 in the guest: no guest agent is connected");
});

test("openStream() reaches a unix socket in the guest", async () => {
  const h = await harness();
  const path = join(h.dir, "echo.sock");
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => void server.close());
  await h.waitForState("connected");
  const stream = await h.client.openStream({ kind: "unix", path });
  stream.write("ping");
  const [chunk] = (await new Promise((resolve) => stream.once("data", (data) => resolve([data])))) as Buffer[];
  expect(chunk?.toString()).toBe("ping");
  stream.destroy();
});

test("openStream() of kind udp maps each chunk to one datagram, both ways", async () => {
  const h = await harness();
  const echo = createSocket("udp4");
  echo.on("message", (message, remote) => echo.send(Buffer.concat([Buffer.from("echo:"), message]), remote.port, remote.address));
  await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", resolve));
  cleanups.push(() => void echo.close());
  await h.waitForState("connected");
  const stream = await h.client.openStream({ kind: "udp", host: "127.0.0.1", port: echo.address().port });
  const received: string[] = [];
  const done = new Promise<void>((resolve) =>
    stream.on("data", (datagram: Buffer) => {
      received.push(datagram.toString());
      if (received.length === 3) resolve();
    }),
  );
  for (const text of ["a", "bb", "ccc"]) stream.write(Buffer.from(text));
  await done;
  expect(received.sort()).toEqual(["echo:a", "echo:bb", "echo:ccc"]);
  stream.destroy();
});

test("listenInGuest() creates the guest socket with its mode and hands each connection to the host", async () => {
  const h = await harness();
  await h.waitForState("connected");
  const path = join(h.dir, "nested", "docker.sock");
  const listener = await h.client.listenInGuest({ path, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o600 }, (stream) => {
    stream.on("data", (data: Buffer) => stream.end(`host saw ${data.toString()}`));
  });
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  const socket = createConnection(path);
  socket.write("hi");
  expect((await buffer(socket)).toString()).toBe("host saw hi");
  await listener.close();
});

test("listenInGuest() rejects with the guest's errno when the socket cannot be created", async () => {
  const h = await harness();
  await h.waitForState("connected");
  const file = join(h.dir, "a-file");
  await Bun.write(file, "x");
  const error = await h.client.listenInGuest({ path: join(file, "sock"), uid: 0, gid: 0, mode: 0o600 }, () => undefined).catch((e: unknown) => e);
  // The parent "folder" is a file: mkdir -p fails.
  expect(error).toMatchObject({ code: "GUEST_AGENT", details: { errno: "EEXIST" } });
});

test("sendFsEvents() delivers the events to the agent", async () => {
  const h = await harness();
  await h.waitForState("connected");
  h.client.sendFsEvents([{ path: "/home/u/a.txt", kind: "modify" }, { path: "/home/u/b", kind: "create" }]);
  for (let i = 0; i < 100 && h.fsEvents.length < 2; i++) await Bun.sleep(10);
  expect(h.fsEvents).toEqual([{ path: "/home/u/a.txt", kind: "modify" }, { path: "/home/u/b", kind: "create" }]);
});

test("after the connection drops the client reconnects and re-syncs the listener list", async () => {
  const h = await harness();
  h.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: 8080 }]);
  await nextListeners(h, (list) => list.length === 1);
  const seen: number[] = [];
  h.client.onListeners((list) => seen.push(list.length));
  const states: string[] = [];
  h.client.onState((state) => states.push(state.state));
  h.dropHost();
  await h.waitForState("disconnected");
  await h.waitForState("connected");
  await nextListeners(h, (list) => list.length === 1);
  expect(seen).toEqual([1, 0, 1]);
  expect(states.slice(-2)).toEqual(["connecting", "connected"]);
  expect(h.hostLog.lines.some((line) => line.level === "warn" && line.message.startsWith("guest agent disconnected"))).toBe(true);
});

test("a restarted agent behind a live connection is noticed and the session starts over", async () => {
  const h = await harness();
  h.setListeners([{ proto: "tcp", ip: "0.0.0.0", port: 8000 }]);
  await nextListeners(h, (list) => list.length === 1);
  await h.waitForState("connected");
  const port = await tcpServer(() => undefined);
  const open = await h.client.openStream({ kind: "tcp", host: "127.0.0.1", port });
  const failed = new Promise<string>((resolve) => open.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "")));
  const states: string[] = [];
  h.client.onState((state) => states.push(state.state));
  h.restartAgent();
  expect(await failed).toBe("ECONNRESET");
  await h.waitForState("connected");
  expect(states).toEqual(["connecting", "connected"]);
  expect(h.client.state).toMatchObject({ state: "connected" });
  expect(await nextListeners(h, (list) => list.length === 1)).toEqual([{ proto: "tcp", ip: "0.0.0.0", port: 8000 }]);
});

test("a stream whose reader stalls does not hold up another stream, and stays within its window", async () => {
  const h = await harness();
  const bulk = Buffer.alloc(8 * 1024 * 1024, 7);
  let written = 0;
  const slowPort = await tcpServer((socket) => {
    const pump = () => {
      while (written < bulk.byteLength) {
        const ok = socket.write(bulk.subarray(written, written + 65536));
        written += 65536;
        if (!ok) return void socket.once("drain", pump);
      }
      socket.end();
    };
    pump();
  });
  const echoPort = await tcpServer((socket) => socket.pipe(socket));
  await h.waitForState("connected");
  const stalled = await h.client.openStream({ kind: "tcp", host: "127.0.0.1", port: slowPort });
  stalled.pause();
  await Bun.sleep(200);
  const echo = await h.client.openStream({ kind: "tcp", host: "127.0.0.1", port: echoPort });
  echo.write("still flowing");
  const answer = await new Promise<Buffer>((resolve) => echo.once("data", resolve));
  expect(answer.toString()).toBe("still flowing");
  // The host holds at most one window (its 4 MiB receive window) plus the stream's read buffer for the stalled stream.
  expect(stalled.readableLength).toBeLessThanOrEqual(4 * 1024 * 1024 + 64 * 1024);
  stalled.resume();
  expect((await buffer(stalled)).byteLength).toBe(bulk.byteLength);
  echo.destroy();
});

test("a bulk transfer through one stream arrives complete (throughput over a unix socket is logged)", async () => {
  const h = await harness();
  const size = 64 * 1024 * 1024;
  const port = await tcpServer((socket) => {
    const chunk = Buffer.alloc(256 * 1024, 1);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.byteLength;
        if (!socket.write(chunk)) return void socket.once("drain", pump);
      }
      socket.end();
    };
    pump();
  });
  await h.waitForState("connected");
  const started = performance.now();
  const stream = await h.client.openStream({ kind: "tcp", host: "127.0.0.1", port });
  let received = 0;
  stream.on("data", (chunk: Buffer) => (received += chunk.byteLength));
  await new Promise((resolve) => stream.on("end", resolve));
  const seconds = (performance.now() - started) / 1000;
  console.log(`agent protocol over a unix socket: ${(size / 2 ** 20 / seconds).toFixed(0)} MiB/s guest→host`);
  expect(received).toBe(size);
}, 60_000);
