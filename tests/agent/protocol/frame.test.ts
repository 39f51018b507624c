import { expect, test } from "bun:test";
import { encodeFrame, encodeHandshake, FrameParser, FrameType, type Frame, MaxPayloadBytes } from "../../../agent/protocol/frame.ts";
import { createFrameSender } from "../../../agent/protocol/frame-sender.ts";

const hello = (nonce: string): Frame => ({ type: FrameType.Hello, stream: 0, payload: encodeHandshake({ nonce, protocol: { min: 1, max: 1 } }) });
const data = (stream: number, text: string): Frame => ({ type: FrameType.Data, stream, payload: new TextEncoder().encode(text) });

function frames(parser: FrameParser, bytes: Uint8Array) {
  return parser.push(bytes).map((item) => (item.kind === "frame" ? { type: item.frame.type, stream: item.frame.stream, text: new TextDecoder().decode(item.frame.payload) } : { garbage: item.reason }));
}

test.each([
  { name: "skips everything before the first handshake", input: [Uint8Array.of(1, 2, 3, 0xde, 0x4e), encodeFrame(data(1, "lost")), encodeFrame(hello("a")), encodeFrame(data(1, "kept"))], count: 2 },
  { name: "reads frames split at every byte", input: [...encodeFrame(hello("b")), ...encodeFrame(data(3, "xyz"))].map((byte) => Uint8Array.of(byte)), count: 2 },
])("FrameParser $name", ({ input, count }) => {
  const parser = new FrameParser(FrameType.Hello);
  const out = input.flatMap((chunk) => frames(parser, chunk));
  expect(out).toHaveLength(count);
  expect(out[0]).toMatchObject({ type: FrameType.Hello, stream: 0 });
  if (count === 2) expect(out[1]).toMatchObject({ type: FrameType.Data });
});

test.each([
  { name: "an unknown frame type", bad: Uint8Array.of(0x7f, 0, 0, 0, 1, 0, 0, 0, 0), reason: "unknown frame type 0x7f" },
  { name: "an oversized length", bad: Uint8Array.of(FrameType.Data, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff), reason: `exceeds ${MaxPayloadBytes}` },
])("FrameParser reports $name once and finds the next handshake right after it", ({ bad, reason }) => {
  const parser = new FrameParser(FrameType.Hello);
  frames(parser, encodeFrame(hello("first")));
  const out = frames(parser, Uint8Array.from([...bad, ...encodeFrame(hello("second")), ...encodeFrame(data(1, "after"))]));
  expect(out[0]).toEqual({ garbage: expect.stringContaining(reason) });
  expect(out.slice(1)).toMatchObject([{ type: FrameType.Hello, text: expect.stringContaining("second") }, { type: FrameType.Data, text: "after" }]);
});

test("encodeFrame() refuses a payload above the limit", () => {
  expect(() => encodeFrame({ type: FrameType.Data, stream: 1, payload: new Uint8Array(MaxPayloadBytes + 1) })).toThrow(RangeError);
});

test.each([
  { name: "4 KiB chunks (the virtio-serial port's reads)", chunkBytes: () => 4096 },
  { name: "chunks of random size", chunkBytes: () => 1 + Math.floor(Math.random() * 70_000) },
])("FrameParser hands out payloads that stay intact while later $name arrive", ({ chunkBytes }) => {
  const sizes = [0, 1, 9, 4_000, 32_768, 65_536, 65_536, 100, 65_535, 12_345, 65_536];
  const sent = sizes.map((size, i) => ({ type: FrameType.Data, stream: 2 * i + 1, payload: Uint8Array.from({ length: size }, () => Math.floor(Math.random() * 256)) }) as Frame);
  const wire = Buffer.concat([encodeFrame(hello("h")), ...sent.map(encodeFrame)]);
  const parser = new FrameParser(FrameType.Hello);
  const received: Frame[] = [];
  for (let offset = 0; offset < wire.byteLength; ) {
    const end = Math.min(wire.byteLength, offset + chunkBytes());
    for (const item of parser.push(wire.subarray(offset, end))) if (item.kind === "frame" && item.frame.type === FrameType.Data) received.push(item.frame);
    offset = end;
  }
  // Compared only now: a payload overwritten by a later chunk would show here.
  expect(received.map((frame) => ({ stream: frame.stream, payload: Buffer.from(frame.payload).toString("hex") }))).toEqual(sent.map((frame) => ({ stream: frame.stream, payload: Buffer.from(frame.payload).toString("hex") })));
});

test("createFrameSender() writes the frames of one turn as one batch, in order", async () => {
  const writes: Uint8Array[] = [];
  const send = createFrameSender((bytes) => writes.push(bytes));
  send(data(1, "one"));
  send(data(3, "two"));
  expect(writes).toEqual([]);
  await Promise.resolve();
  expect(writes).toHaveLength(1);
  expect(Buffer.from(writes[0] as Uint8Array)).toEqual(Buffer.concat([encodeFrame(data(1, "one")), encodeFrame(data(3, "two"))]));
});
