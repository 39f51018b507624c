import { expect, test } from "bun:test";
import { formatIp } from "../../../agent/ports/format-ip.ts";

const v6 = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));

test.each([
  { name: "IPv4 any", bytes: Uint8Array.of(0, 0, 0, 0), want: "0.0.0.0" },
  { name: "IPv4 loopback", bytes: Uint8Array.of(127, 0, 0, 1), want: "127.0.0.1" },
  { name: "IPv4 address", bytes: Uint8Array.of(192, 168, 5, 15), want: "192.168.5.15" },
  { name: "IPv6 any", bytes: v6("00000000000000000000000000000000"), want: "::" },
  { name: "IPv6 loopback", bytes: v6("00000000000000000000000000000001"), want: "::1" },
  { name: "IPv4-mapped loopback", bytes: v6("00000000000000000000ffff7f000001"), want: "127.0.0.1" },
  { name: "IPv4-mapped any", bytes: v6("00000000000000000000ffff00000000"), want: "0.0.0.0" },
  { name: "link-local with a zero run in the middle", bytes: v6("fe80000000000000505455fffe123456"), want: "fe80::5054:55ff:fe12:3456" },
  { name: "a single zero group is not compressed", bytes: v6("20010db8000000010001000100010001"), want: "2001:db8:0:1:1:1:1:1" },
  { name: "the longest zero run is compressed", bytes: v6("20010db8000000000001000000000000"), want: "2001:db8:0:0:1::" },
  { name: "the first of two equal runs is compressed", bytes: v6("20010db8000000000001000000000001"), want: "2001:db8::1:0:0:1" },
  { name: "a trailing zero run", bytes: v6("fd000000000000000000000000000000"), want: "fd00::" },
  { name: "an IPv4-compatible address stays IPv6", bytes: v6("0000000000000000000000007f000001"), want: "::7f00:1" },
])("formatIp() formats $name", ({ bytes, want }) => {
  expect(formatIp(bytes)).toBe(want);
});

test("formatIp() rejects an address of another length", () => {
  expect(() => formatIp(new Uint8Array(5))).toThrow(RangeError);
});
