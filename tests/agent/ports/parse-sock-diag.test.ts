import { expect, test } from "bun:test";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import { afInet, afInet6, buildSockDiagRequest, parseSockDiagReply, type SockDiagQuery, type SockDiagReply } from "../../../agent/ports/parse-sock-diag.ts";

// One inet_diag_msg reply (72 bytes after the 16-byte header), little-endian header as on x86-64.
function diagMessage(family: number, state: number, port: number, address: number[]): Uint8Array {
  const bytes = new Uint8Array(16 + 72);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, bytes.length, true);
  view.setUint16(4, 20, true);
  view.setUint16(6, 2, true); // NLM_F_MULTI
  bytes[16] = family;
  bytes[17] = state;
  view.setUint16(20, port, false);
  bytes.set(address, 24);
  return bytes;
}
function control(type: number, errno?: number): Uint8Array {
  const bytes = new Uint8Array(errno === undefined ? 20 : 36);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, bytes.length, true);
  view.setUint16(4, type, true);
  if (errno !== undefined) view.setInt32(16, -errno, true);
  return bytes;
}
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => Array.from(part)));
const done = control(3);
const mapped = (a: number, b: number, c: number, d: number) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d];
const v6loopback = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const tcp4: SockDiagQuery = { proto: "tcp", family: afInet };
const tcp6: SockDiagQuery = { proto: "tcp", family: afInet6 };
const udp4: SockDiagQuery = { proto: "udp", family: afInet };

test.each<{ name: string; query: SockDiagQuery; bytes: Uint8Array; want: SockDiagReply }>([
  {
    name: "IPv4 TCP listeners and the end of the dump",
    query: tcp4,
    bytes: concat(diagMessage(afInet, 10, 22, [0, 0, 0, 0]), diagMessage(afInet, 10, 8080, [127, 0, 0, 1]), done),
    want: { listeners: [{ proto: "tcp", ip: "0.0.0.0", port: 22 }, { proto: "tcp", ip: "127.0.0.1", port: 8080 }], done: true },
  },
  {
    name: "IPv6 listeners with an IPv4-mapped address as IPv4",
    query: tcp6,
    bytes: concat(diagMessage(afInet6, 10, 443, new Array(16).fill(0)), diagMessage(afInet6, 10, 3000, mapped(127, 0, 0, 1)), diagMessage(afInet6, 10, 5432, v6loopback)),
    want: {
      listeners: [{ proto: "tcp", ip: "::", port: 443 }, { proto: "tcp", ip: "127.0.0.1", port: 3000 }, { proto: "tcp", ip: "::1", port: 5432 }],
      done: false,
    },
  },
  {
    name: "only unconnected UDP sockets",
    query: udp4,
    bytes: concat(diagMessage(afInet, 7, 53, [127, 0, 0, 53]), diagMessage(afInet, 1, 40000, [10, 0, 2, 15]), done),
    want: { listeners: [{ proto: "udp", ip: "127.0.0.53", port: 53 }], done: true },
  },
  {
    name: "no TCP socket in another state and none on port 0",
    query: tcp4,
    bytes: concat(diagMessage(afInet, 1, 22, [10, 0, 2, 15]), diagMessage(afInet, 10, 0, [0, 0, 0, 0])),
    want: { listeners: [], done: false },
  },
  { name: "the kernel's error as a positive errno", query: udp4, bytes: control(2, 2), want: { listeners: [], done: true, errno: 2 } },
  { name: "an acknowledgement as done without an errno", query: udp4, bytes: control(2, 0), want: { listeners: [], done: true } },
  {
    name: "the complete messages of a truncated reply",
    query: tcp4,
    bytes: concat(diagMessage(afInet, 10, 22, [0, 0, 0, 0]), diagMessage(afInet, 10, 80, [0, 0, 0, 0]).subarray(0, 40)),
    want: { listeners: [{ proto: "tcp", ip: "0.0.0.0", port: 22 }], done: false },
  },
  { name: "nothing from an empty reply", query: tcp4, bytes: new Uint8Array(0), want: { listeners: [] as GuestListener[], done: false } },
])("parseSockDiagReply() reads $name", ({ query, bytes, want }) => {
  expect(parseSockDiagReply(bytes, query, { byteOrder: "LE" })).toEqual(want);
});

test.each<{ name: string; query: SockDiagQuery; byteOrder: "LE" | "BE"; header: number[]; body: number[] }>([
  {
    name: "TCP listeners of IPv4 (little endian)",
    query: tcp4,
    byteOrder: "LE",
    header: [72, 0, 0, 0, 20, 0, 0x01, 0x03, 7, 0, 0, 0, 0, 0, 0, 0],
    body: [2, 6, 0, 0, 0x00, 0x04, 0, 0],
  },
  {
    name: "unconnected UDP sockets of IPv6 (big endian)",
    query: { proto: "udp", family: afInet6 },
    byteOrder: "BE",
    header: [0, 0, 0, 72, 0, 20, 0x03, 0x01, 0, 0, 0, 7, 0, 0, 0, 0],
    body: [10, 17, 0, 0, 0, 0, 0, 0x80],
  },
])("buildSockDiagRequest() asks for $name", ({ query, byteOrder, header, body }) => {
  const bytes = buildSockDiagRequest(query, { byteOrder, seq: 7 });
  expect(bytes.length).toBe(72);
  expect(Array.from(bytes.subarray(0, 16))).toEqual(header);
  expect(Array.from(bytes.subarray(16, 24))).toEqual(body);
  // The socket id (addresses, ports, interface, cookie) stays zero: no filter beyond the states.
  expect(bytes.subarray(24).every((byte) => byte === 0)).toBe(true);
});
