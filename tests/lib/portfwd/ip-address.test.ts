import { expect, test } from "bun:test";
import { ipBytes, isIpv6, isLoopbackIp, isUnspecifiedIp, joinHostPort, sameIp } from "../../../lib/portfwd/ip-address.ts";

test.each([
  { a: "127.0.0.1", b: "::ffff:127.0.0.1", want: true },
  { a: "::1", b: "0:0:0:0:0:0:0:1", want: true },
  { a: "fd00::5", b: "fd00:0:0::5", want: true },
  { a: "127.0.0.1", b: "::1", want: false },
  { a: "0.0.0.0", b: "::", want: false },
  { a: "10.0.0.1", b: "not-an-ip", want: false },
])("sameIp() says $want for $a and $b", ({ a, b, want }) => {
  expect(sameIp(a, b)).toBe(want);
});

test.each([
  { ip: "0.0.0.0", unspecified: true, loopback: false, v6: false },
  { ip: "::", unspecified: true, loopback: false, v6: true },
  { ip: "::ffff:0.0.0.0", unspecified: true, loopback: false, v6: false },
  { ip: "127.0.0.53", unspecified: false, loopback: true, v6: false },
  { ip: "::1", unspecified: false, loopback: true, v6: true },
  { ip: "192.168.5.15", unspecified: false, loopback: false, v6: false },
  { ip: "fe80::1%eth0", unspecified: false, loopback: false, v6: true },
])("ipBytes() classifies $ip", ({ ip, unspecified, loopback, v6 }) => {
  expect({ unspecified: isUnspecifiedIp(ip), loopback: isLoopbackIp(ip), v6: isIpv6(ip) }).toEqual({ unspecified, loopback, v6 });
});

test.each(["1.2.3", "1.2.3.256", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", ""])("ipBytes() rejects %p", (text) => {
  expect(ipBytes(text)).toBeUndefined();
});

test.each([
  { ip: "127.0.0.1", port: 80, want: "127.0.0.1:80" },
  { ip: "::1", port: 80, want: "[::1]:80" },
])("joinHostPort() gives $want", ({ ip, port, want }) => {
  expect(joinHostPort(ip, port)).toBe(want);
});
