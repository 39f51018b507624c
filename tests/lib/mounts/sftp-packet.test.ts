import { describe, expect, test } from "bun:test";
import { MaxPacketLength, SftpPacketSplitter, SftpReader, SftpWriter } from "../../../lib/mounts/sftp-packet.ts";

describe("SftpPacketSplitter", () => {
  const two = Buffer.concat([new SftpWriter(1).uint32(3).finish(), new SftpWriter(17).uint32(7).string("/a b ü").finish()]);

  test.each([
    { name: "in one chunk", chunks: [two] },
    { name: "byte by byte", chunks: [...two].map((byte) => Buffer.from([byte])) },
    { name: "split inside the length prefix", chunks: [two.subarray(0, 2), two.subarray(2, 11), two.subarray(11)] },
  ])("push() returns whole packets when they arrive $name", ({ chunks }) => {
    const splitter = new SftpPacketSplitter();
    const packets = chunks.flatMap((chunk) => splitter.push(chunk));
    expect(packets.map((packet) => packet[0])).toEqual([1, 17]);
    const stat = new SftpReader(packets[1] as Buffer);
    expect([stat.uint32(), stat.string()]).toEqual([7, "/a b ü"]);
  });

  test.each([{ length: 0 }, { length: MaxPacketLength + 1 }])("push() refuses a packet length of $length", ({ length }) => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length);
    expect(() => new SftpPacketSplitter().push(header)).toThrow("out of range");
  });
});

describe("SftpWriter and SftpReader", () => {
  test.each([
    { name: "every field", attrs: { size: 2 ** 40 + 5, uid: 1000, gid: 100, mode: 0o100644, atime: 1_700_000_000, mtime: 1_700_000_001 } },
    { name: "no field", attrs: {} },
    { name: "only the mode", attrs: { mode: 0o40755 } },
  ])("attrs() round-trips $name", ({ attrs }) => {
    const packet = new SftpWriter(105).uint32(9).attrs(attrs).finish();
    const reader = new SftpReader(packet.subarray(4));
    expect(reader.uint32()).toBe(9);
    expect(reader.attrs()).toEqual(attrs);
    expect(reader.remaining).toBe(0);
  });

  test("finish() prefixes the payload length", () => {
    const packet = new SftpWriter(101).uint32(1).string("ok").finish();
    expect(packet.readUInt32BE(0)).toBe(packet.length - 4);
  });

  test("bytes() throws a RangeError when a string runs past the packet", () => {
    const packet = Buffer.from([17, 0, 0, 0, 1, 0, 0, 0, 50, 65]);
    const reader = new SftpReader(packet);
    reader.uint32();
    expect(() => reader.bytes()).toThrow(RangeError);
  });
});
