// Protocol fuzzing: random bytes, truncated and mutated frames thrown at the real agent and at the real host client.
// Neither may crash, and both must still complete a clean handshake and carry a stream afterwards.
import { afterEach, expect, test } from "bun:test";
import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { encodeFrame, encodeHandshake, encodeJson, FrameParser, FrameType, type Frame } from "../../../agent/protocol/frame.ts";
import { connectGuestAgent } from "../../../lib/guestagent/connect-guest-agent.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { type Harness, startHarness } from "../agent-harness.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Deterministic PRNG so a failing seed can be replayed. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function validFrames(): Frame[] {
  return [
    { type: FrameType.Hello, stream: 0, payload: encodeHandshake({ nonce: "n", protocol: { min: 1, max: 1 } }) },
    { type: FrameType.Control, stream: 0, payload: encodeJson({ type: "fs-events", events: [{ path: "/tmp/x", kind: "modify" }] }) },
    { type: FrameType.Open, stream: 1, payload: encodeJson({ kind: "tcp", host: "127.0.0.1", port: 1 }) },
    { type: FrameType.Data, stream: 1, payload: new Uint8Array(100) },
    { type: FrameType.Credit, stream: 1, payload: Uint8Array.of(0, 0, 1, 0) },
    { type: FrameType.End, stream: 3, payload: new Uint8Array(0) },
    { type: FrameType.Reset, stream: 5, payload: encodeJson({ errno: "EIO", message: "x" }) },
    { type: FrameType.Control, stream: 0, payload: encodeJson({ type: "listen-unix", id: 1, path: "/proc/nope/s", uid: 0, gid: 0, mode: 384 }) },
  ];
}

/** One fuzz input: random bytes, valid frames cut short, or valid frames with flipped bytes. */
function fuzzInput(next: () => number): Uint8Array {
  const pick = next();
  const frames = validFrames();
  const frame = encodeFrame(frames[Math.floor(next() * frames.length)] as Frame);
  if (pick < 0.3) return Uint8Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256));
  if (pick < 0.6) return frame.subarray(0, Math.floor(next() * frame.byteLength));
  const mutated = frame.slice();
  for (let i = 0; i < 1 + Math.floor(next() * 4); i++) mutated[Math.floor(next() * mutated.byteLength)] = Math.floor(next() * 256);
  return mutated;
}

test("FrameParser never throws on 20 000 random, truncated and mutated inputs", () => {
  const next = random(42);
  for (const syncType of [FrameType.Hello, FrameType.Welcome]) {
    const parser = new FrameParser(syncType);
    for (let i = 0; i < 10_000; i++) expect(() => parser.push(fuzzInput(next))).not.toThrow();
  }
});

test("the agent survives garbage from the host and still serves the client afterwards", async () => {
  const h: Harness = await startHarness({ connectClient: false });
  cleanups.push(() => h.stop());
  const next = random(7);
  // Raw connections in turn, as a broken host would make them.
  for (let round = 0; round < 20; round++) {
    const socket = createConnection(h.path);
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    for (let i = 0; i < 50; i++) socket.write(fuzzInput(next));
    await Bun.sleep(5);
    socket.destroy();
  }
  const client = connectGuestAgent({ transport: "unix", path: h.path }, { log: createMemoryLogger(), retryMs: 20 });
  cleanups.push(() => client.close());
  await new Promise<void>((resolve) => {
    if (client.state.state === "connected") resolve();
    client.onState((state) => state.state === "connected" && resolve());
  });
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => void echo.close());
  const stream = await client.openStream({ kind: "tcp", host: "127.0.0.1", port: (echo.address() as AddressInfo).port });
  stream.write("alive");
  expect(String(await new Promise((resolve) => stream.once("data", resolve)))).toBe("alive");
  stream.destroy();
}, 30_000);

test("the host client survives garbage from the agent side and connects once a real agent answers", async () => {
  const path = join(await makeTempDir("den-fuzz-"), "ga.sock");
  const next = random(99);
  let garbageSockets = 0;
  const server = createServer((socket: Socket) => {
    socket.on("error", () => undefined);
    garbageSockets++;
    // A fake agent: a WELCOME announcement, then noise, torn frames and mutated frames, then hangs up.
    socket.write(encodeFrame({ type: FrameType.Welcome, stream: 0, payload: encodeHandshake({ nonce: null, version: "x", protocol: 1, arch: "x" }) }));
    for (let i = 0; i < 200; i++) socket.write(fuzzInput(next));
    setTimeout(() => socket.destroy(), 20);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const log = createMemoryLogger();
  const client = connectGuestAgent({ transport: "unix", path }, { log, retryMs: 10 });
  for (let i = 0; i < 200 && garbageSockets < 5; i++) await Bun.sleep(10);
  expect(garbageSockets).toBeGreaterThanOrEqual(5);
  expect(client.state.state).not.toBe("connected");
  await client.close();
  server.close();
});
