import { expect, test } from "bun:test";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import { defaultedRule, effectiveRules } from "../../../lib/portfwd/effective-rules.ts";
import { guestAddressText, hostEndpointText, matchPortRule } from "../../../lib/portfwd/match-port-rule.ts";

const sshLocalPort = 60022;
const rules = (...user: Partial<FilledPortForward>[]) => effectiveRules({ portForwards: user.map(defaultedRule) }, { sshLocalPort });
const tcp = (ip: string, port: number): GuestListener => ({ proto: "tcp", ip, port });
const udp = (ip: string, port: number): GuestListener => ({ proto: "udp", ip, port });

/** "host 127.0.0.1:8080", "ignore", "static", "none". */
function outcome(ruleList: FilledPortForward[], listener: GuestListener): string {
  const match = matchPortRule(ruleList, listener);
  return match.kind === "forward" ? `host ${hostEndpointText(match.host)}` : match.kind;
}

test.each<{ name: string; user: Partial<FilledPortForward>[]; listener: GuestListener; want: string }>([
  // Lima's default rule: loopback and wildcard listeners reach the same port on the host's 127.0.0.1.
  { name: "a 127.0.0.1 listener goes to the host's 127.0.0.1", user: [], listener: tcp("127.0.0.1", 8080), want: "host 127.0.0.1:8080" },
  { name: "a 0.0.0.0 listener goes to the host's 127.0.0.1", user: [], listener: tcp("0.0.0.0", 8080), want: "host 127.0.0.1:8080" },
  { name: "a :: listener goes to the host's 127.0.0.1", user: [], listener: tcp("::", 8080), want: "host 127.0.0.1:8080" },
  { name: "a ::1 listener counts as loopback", user: [], listener: tcp("::1", 8080), want: "host 127.0.0.1:8080" },
  { name: "a UDP listener is forwarded by the default rule (proto any)", user: [], listener: udp("127.0.0.1", 5000), want: "host 127.0.0.1:5000" },
  { name: "a listener on the guest's own address is not forwarded", user: [], listener: tcp("192.168.5.15", 8080), want: "none" },
  { name: "a listener on another loopback address is not forwarded", user: [], listener: tcp("127.0.0.53", 53), want: "none" },
  // The SSH ports.
  { name: "the guest's sshd on 0.0.0.0:22 is ignored", user: [], listener: tcp("0.0.0.0", 22), want: "ignore" },
  { name: "the guest's sshd on :::22 is ignored", user: [], listener: tcp("::", 22), want: "ignore" },
  { name: "a guest listener on the host's SSH port is ignored", user: [], listener: tcp("0.0.0.0", sshLocalPort), want: "ignore" },
  // guestIPMustBeZero defaults to true for the built-in ignore rules (guestIP 0.0.0.0), so they match only wildcards.
  { name: "a 127.0.0.1:22 listener is not swallowed by the sshd ignore rule", user: [], listener: tcp("127.0.0.1", 22), want: "host 127.0.0.1:22" },
  // User rules come before the default one; first match wins.
  {
    name: "hostPort maps a single guest port",
    user: [{ guestPort: 80, hostPort: 8080 }],
    listener: tcp("127.0.0.1", 80),
    want: "host 127.0.0.1:8080",
  },
  {
    name: "port ranges keep the offset",
    user: [{ guestPortRange: [4000, 4999], hostPortRange: [14000, 14999] }],
    listener: tcp("0.0.0.0", 4321),
    want: "host 127.0.0.1:14321",
  },
  { name: "hostIP is used as given", user: [{ guestPort: 3000, hostIP: "0.0.0.0" }], listener: tcp("127.0.0.1", 3000), want: "host 0.0.0.0:3000" },
  {
    name: "a port outside the rule's range falls through to the default rule",
    user: [{ guestPortRange: [4000, 4999], hostPortRange: [14000, 14999] }],
    listener: tcp("127.0.0.1", 5000),
    want: "host 127.0.0.1:5000",
  },
  { name: "a tcp rule does not match a UDP listener", user: [{ guestPort: 53, hostPort: 5353, proto: "tcp" }], listener: udp("127.0.0.1", 53), want: "host 127.0.0.1:53" },
  { name: "a udp rule matches a UDP listener", user: [{ guestPort: 53, hostPort: 5353, proto: "udp" }], listener: udp("127.0.0.1", 53), want: "host 127.0.0.1:5353" },
  { name: "the first matching rule wins", user: [{ guestPort: 8080, hostPort: 1 }, { guestPort: 8080, hostPort: 2 }], listener: tcp("127.0.0.1", 8080), want: "host 127.0.0.1:1" },
  // guestIP and guestIPMustBeZero.
  {
    name: "a rule for a specific guest IP matches that IP",
    user: [{ guestIP: "192.168.5.15", guestPort: 8080, hostPort: 18080 }],
    listener: tcp("192.168.5.15", 8080),
    want: "host 127.0.0.1:18080",
  },
  {
    name: "a rule for a specific guest IP also matches a wildcard listener",
    user: [{ guestIP: "192.168.5.15", guestPort: 8080, hostPort: 18080 }],
    listener: tcp("0.0.0.0", 8080),
    want: "host 127.0.0.1:18080",
  },
  {
    name: "a 0.0.0.0 rule without guestIPMustBeZero matches any guest IP",
    user: [{ guestIP: "0.0.0.0", guestIPMustBeZero: false, guestPort: 8080, hostPort: 18080 }],
    listener: tcp("192.168.5.15", 8080),
    want: "host 127.0.0.1:18080",
  },
  {
    name: "a 0.0.0.0 rule with guestIPMustBeZero skips a specific guest IP",
    user: [{ guestIP: "0.0.0.0", guestIPMustBeZero: true, guestPort: 8080, hostPort: 18080 }],
    listener: tcp("127.0.0.1", 8080),
    want: "host 127.0.0.1:8080",
  },
  {
    name: "a 0.0.0.0 rule with guestIPMustBeZero matches a wildcard listener",
    user: [{ guestIP: "0.0.0.0", guestIPMustBeZero: true, guestPort: 8080, hostPort: 18080 }],
    listener: tcp("0.0.0.0", 8080),
    want: "host 127.0.0.1:18080",
  },
  { name: "guestIPMustBeZero alone defaults guestIP to 0.0.0.0", user: [{ guestIPMustBeZero: true, guestPort: 9000, hostPort: 19000 }], listener: tcp("::", 9000), want: "host 127.0.0.1:19000" },
  // ignore.
  { name: "an ignore rule stops a matching listener", user: [{ guestPort: 8888, ignore: true }], listener: tcp("127.0.0.1", 8888), want: "ignore" },
  {
    name: "an ignore rule for 127.0.0.1 does not swallow a 0.0.0.0 listener",
    user: [{ guestPort: 8888, ignore: true }],
    listener: tcp("0.0.0.0", 8888),
    want: "host 127.0.0.1:8888",
  },
  {
    name: "an ignore rule for 0.0.0.0 stops a 0.0.0.0 listener",
    user: [{ guestIP: "0.0.0.0", guestPort: 8888, ignore: true }],
    listener: tcp("0.0.0.0", 8888),
    want: "ignore",
  },
  {
    name: "an ignore rule for 0.0.0.0 (any IP) stops a 127.0.0.1 listener",
    user: [{ guestIP: "0.0.0.0", guestIPMustBeZero: false, guestPortRange: [1, 65535], ignore: true }],
    listener: tcp("127.0.0.1", 3000),
    want: "ignore",
  },
  { name: "an ignore rule for udp leaves tcp alone", user: [{ proto: "udp", ignore: true }], listener: tcp("127.0.0.1", 3000), want: "host 127.0.0.1:3000" },
  // static and sockets.
  { name: "a port covered by a static rule is left to the static forward", user: [{ guestPort: 9080, hostPort: 9080, static: true }], listener: tcp("127.0.0.1", 9080), want: "static" },
  { name: "a static rule covers the port whatever the listener's IP", user: [{ guestPort: 9080, static: true }], listener: udp("0.0.0.0", 9080), want: "static" },
  {
    name: "a socket rule never matches a port listener",
    user: [{ guestSocket: "/run/docker.sock", hostSocket: "/tmp/docker.sock" }],
    listener: tcp("127.0.0.1", 2375),
    want: "host 127.0.0.1:2375",
  },
  {
    name: "a port rule with hostSocket forwards to a host socket",
    user: [{ guestPort: 2375, hostSocket: "/tmp/docker-tcp.sock" }],
    listener: tcp("127.0.0.1", 2375),
    want: "host /tmp/docker-tcp.sock",
  },
  // IPv6.
  { name: "an IPv4-mapped rule address equals its IPv4 form", user: [{ guestIP: "::ffff:192.168.5.15", guestPort: 7000, hostPort: 17000 }], listener: tcp("192.168.5.15", 7000), want: "host 127.0.0.1:17000" },
  { name: "an IPv6 rule address matches its listener", user: [{ guestIP: "fd00::5", guestPort: 7000, hostIP: "::1", hostPort: 17000 }], listener: tcp("fd00:0::5", 7000), want: "host [::1]:17000" },
])("matchPortRule(): $name", ({ user, listener, want }) => {
  expect(outcome(rules(...user), listener)).toBe(want);
});

test("matchPortRule() reports the index of the rule that decided", () => {
  const list = rules({ guestPort: 8080, hostPort: 18080 });
  expect(matchPortRule(list, tcp("127.0.0.1", 8080))).toMatchObject({ kind: "forward", ruleIndex: 2 });
  expect(matchPortRule(list, tcp("127.0.0.1", 8081))).toMatchObject({ kind: "forward", ruleIndex: list.length - 1 });
});

test.each([
  { listener: tcp("127.0.0.1", 80), want: "127.0.0.1:80" },
  { listener: tcp("::", 80), want: "[::]:80" },
])("guestAddressText() prints $want", ({ listener, want }) => {
  expect(guestAddressText(listener)).toBe(want);
});
