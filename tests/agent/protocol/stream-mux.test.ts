import { afterEach, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { encodeHandshake, type Frame, FrameParser, FrameType } from "../../../agent/protocol/frame.ts";
import { createFrameSender } from "../../../agent/protocol/frame-sender.ts";
import { type StreamLimits, streamLimits } from "../../../agent/protocol/stream-limits.ts";
import { type OpenRequest, StreamMux } from "../../../agent/protocol/stream-mux.ts";

const MiB = 1024 * 1024;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Side {
  mux: StreamMux;
  violations: string[];
}

/** One side of a session over `socket`: the real parser, frame sender and mux, as the host and the agent run them. */
function side(socket: Socket, role: "host" | "agent", limits: StreamLimits, onOpenRequest: (request: OpenRequest) => void): Side {
  const violations: string[] = [];
  const parser = new FrameParser(role === "host" ? FrameType.Welcome : FrameType.Hello);
  const send = createFrameSender((bytes) => socket.write(bytes));
  const mux = new StreamMux({ side: role, send, limits, onOpenRequest, onViolation: (message) => violations.push(message), congested: () => socket.writableLength > MiB });
  socket.on("drain", () => mux.drained());
  socket.on("data", (chunk: Buffer) => {
    for (const item of parser.push(chunk)) {
      if (item.kind === "garbage") violations.push(item.reason);
      else if (item.frame.type >= FrameType.Open) mux.handle(item.frame);
    }
  });
  // The peer's parser starts in sync mode and waits for this handshake.
  send({ type: role === "host" ? FrameType.Hello : FrameType.Welcome, stream: 0, payload: encodeHandshake({}) });
  return { mux, violations };
}

/** A host and an agent mux joined by a unix socket; the agent accepts every stream. */
async function pair(limits: StreamLimits): Promise<{ host: Side; agent: Side; accepted: Promise<Duplex> }> {
  const dir = await mkdtemp(join(tmpdir(), "den-mux-"));
  const path = join(dir, "mux.sock");
  const accepted = Promise.withResolvers<Duplex>();
  const sockets: Socket[] = [];
  const agentSide = Promise.withResolvers<Side>();
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    agentSide.resolve(side(socket, "agent", limits, (request) => accepted.resolve(request.accept())));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const socket = createConnection(path);
  sockets.push(socket);
  await new Promise((resolve) => socket.once("connect", resolve));
  cleanups.push(async () => {
    for (const open of sockets) open.destroy();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const host = side(socket, "host", limits, (request) => request.reject({ errno: "ENOENT", message: "no listeners here" }));
  return { host, agent: await agentSide.promise, accepted: accepted.promise };
}

/** Writes `bytes` with backpressure, then ends the stream. */
async function writeAll(stream: Duplex, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; offset += 100_000) {
    if (!stream.write(bytes.subarray(offset, offset + 100_000))) await new Promise((resolve) => stream.once("drain", resolve));
  }
  stream.end();
}

/**
 * Reads everything slowly: it stalls for a while once `stallAt` bytes arrived, and sleeps now and then after that.
 * Returns the bytes, the most the stream ever buffered, and the most the sender held unacknowledged during the stall.
 */
async function readSlowly(stream: Duplex, sender: StreamMux, stallAt: number): Promise<{ bytes: Buffer; maxBuffered: number; heldDuringStall: number }> {
  const chunks: Buffer[] = [];
  let received = 0;
  let maxBuffered = 0;
  let heldDuringStall = 0;
  let stalled = false;
  // Not `for await`: its end destroys the stream, which would reset the direction still being written.
  const pauseFor = async (ms: number, after?: () => void) => {
    stream.pause();
    await Bun.sleep(ms);
    after?.();
    maxBuffered = Math.max(maxBuffered, stream.readableLength);
    stream.resume();
  };
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.byteLength;
      maxBuffered = Math.max(maxBuffered, stream.readableLength);
      if (!stalled && received >= stallAt) {
        stalled = true;
        void pauseFor(150, () => (heldDuringStall = sender.unacknowledgedBytes));
      } else if (chunks.length % 16 === 0) {
        void pauseFor(1);
      }
    });
    stream.once("end", resolve);
    stream.once("error", reject);
  });
  return { bytes: Buffer.concat(chunks), maxBuffered, heldDuringStall };
}

test.each([
  { protocol: 1, limits: streamLimits(1, { receive: 4 * MiB, send: 4 * MiB }) },
  { protocol: 2, limits: streamLimits(2, { receive: 4 * MiB, send: 4 * MiB }) },
])("StreamMux carries 6 MiB each way byte for byte at protocol $protocol, within one window per stream for a slow reader", async ({ limits }) => {
  const { host, agent, accepted } = await pair(limits);
  const hostStream = await host.mux.open({ kind: "tcp", host: "127.0.0.1", port: 1 });
  const agentStream = await accepted;
  const up = randomBytes(6 * MiB);
  const down = randomBytes(6 * MiB);
  const [, , atAgent, atHost] = await Promise.all([
    writeAll(hostStream, up),
    writeAll(agentStream, down),
    readSlowly(agentStream, host.mux, 2 * MiB),
    readSlowly(hostStream, agent.mux, 2 * MiB),
  ]);
  expect(atAgent.bytes.equals(up)).toBe(true);
  expect(atHost.bytes.equals(down)).toBe(true);
  for (const reader of [atAgent, atHost]) {
    // A stalled reader holds up its sender at one window: the receiver buffers at most that plus its read buffer.
    expect(reader.heldDuringStall).toBeLessThanOrEqual(limits.sendWindow);
    expect(reader.heldDuringStall).toBeGreaterThan(limits.sendWindow / 2);
    expect(reader.maxBuffered).toBeLessThanOrEqual(limits.receiveWindow + 64 * 1024);
  }
  expect([...host.violations, ...agent.violations]).toEqual([]);
}, 30_000);

test("StreamMux holds a stream's writes while the transport is congested and finishes them after drained()", async () => {
  let congested = true;
  const muxes: StreamMux[] = [];
  const deliver = (to: number) => (frame: Frame) => queueMicrotask(() => muxes[to]?.handle(frame));
  let agentStream: Duplex | undefined;
  muxes.push(new StreamMux({ side: "host", send: deliver(1), onOpenRequest: () => undefined, congested: () => congested, limits: streamLimits(2, { receive: MiB, send: MiB }) }));
  muxes.push(new StreamMux({ side: "agent", send: deliver(0), onOpenRequest: (request) => (agentStream = request.accept()), limits: streamLimits(2, { receive: MiB, send: MiB }) }));
  const [host] = muxes as [StreamMux];
  const stream = await host.open({ kind: "tcp", host: "127.0.0.1", port: 1 });
  let written = false;
  stream.write(Buffer.from("held"), () => (written = true));
  await Bun.sleep(20);
  // The frame went out (the peer has the bytes); only the write's completion waits.
  expect(written).toBe(false);
  expect((agentStream?.read() as Buffer | null)?.toString()).toBe("held");
  congested = false;
  host.drained();
  await Bun.sleep(0);
  expect(written).toBe(true);
});

/** A host-side mux that recorded what it sent and what it reported, with one stream of each side open and closed. */
async function usedMux(): Promise<{ mux: StreamMux; sent: Frame[]; violations: string[] }> {
  const sent: Frame[] = [];
  const violations: string[] = [];
  const mux = new StreamMux({ side: "host", send: (frame) => sent.push(frame), onOpenRequest: (request) => request.accept().destroy(), onViolation: (message) => violations.push(message) });
  // Host stream 1: opened, refused. Agent stream 2: opened, accepted, closed by the host.
  const refused = mux.open({ kind: "tcp", host: "127.0.0.1", port: 1 }).catch(() => undefined);
  mux.handle({ type: FrameType.Reset, stream: 1, payload: new TextEncoder().encode(JSON.stringify({ errno: "ECONNREFUSED", message: "refused" })) });
  await refused;
  mux.handle({ type: FrameType.Open, stream: 2, payload: new TextEncoder().encode(JSON.stringify({ kind: "listener", id: 1 })) });
  await Bun.sleep(1);
  sent.length = 0;
  return { mux, sent, violations };
}

const u32 = Uint8Array.of(0, 0, 1, 0);
test.each([
  { name: "DATA for a host id never opened", frame: { type: FrameType.Data, stream: 3, payload: u32 }, report: "stream 3: DATA for a stream that was never opened" },
  { name: "CREDIT for an agent id never opened", frame: { type: FrameType.Credit, stream: 4, payload: u32 }, report: "stream 4: CREDIT for a stream that was never opened" },
  { name: "END for an agent id never opened", frame: { type: FrameType.End, stream: 1_000_000, payload: new Uint8Array(0) }, report: "stream 1000000: END for a stream that was never opened" },
  { name: "RESET for a host id never opened", frame: { type: FrameType.Reset, stream: 99, payload: new Uint8Array(0) }, report: "stream 99: RESET for a stream that was never opened" },
  { name: "DATA on stream 0", frame: { type: FrameType.Data, stream: 0, payload: u32 }, report: "DATA on stream 0, the session's, which carries no data" },
  { name: "DATA for a host stream already gone", frame: { type: FrameType.Data, stream: 1, payload: u32 }, report: undefined },
  { name: "DATA for an agent stream already gone", frame: { type: FrameType.Data, stream: 2, payload: u32 }, report: undefined },
  { name: "RESET for an agent stream already gone", frame: { type: FrameType.Reset, stream: 2, payload: new Uint8Array(0) }, report: undefined },
])("StreamMux answers nothing to $name, and reports it only when the id was never opened", async ({ frame, report }) => {
  const { mux, sent, violations } = await usedMux();
  mux.handle(frame as Frame);
  expect(violations).toEqual(report === undefined ? [] : [report]);
  expect(sent).toEqual([]);
});
