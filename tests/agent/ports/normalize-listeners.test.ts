import { expect, test } from "bun:test";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import { normalizeListeners, sameListeners } from "../../../agent/ports/normalize-listeners.ts";

const tcp = (ip: string, port: number): GuestListener => ({ proto: "tcp", ip, port });
const udp = (ip: string, port: number): GuestListener => ({ proto: "udp", ip, port });

test.each<{ name: string; input: GuestListener[]; want: GuestListener[] }>([
  { name: "an empty list", input: [], want: [] },
  { name: "by proto, then port, then address", input: [udp("0.0.0.0", 53), tcp("::", 80), tcp("127.0.0.1", 80), tcp("0.0.0.0", 22)], want: [tcp("0.0.0.0", 22), tcp("127.0.0.1", 80), tcp("::", 80), udp("0.0.0.0", 53)] },
  { name: "without duplicates (SO_REUSEPORT groups)", input: [tcp("0.0.0.0", 8080), tcp("0.0.0.0", 8080), udp("0.0.0.0", 8080)], want: [tcp("0.0.0.0", 8080), udp("0.0.0.0", 8080)] },
  { name: "numerically by port", input: [tcp("0.0.0.0", 10000), tcp("0.0.0.0", 9)], want: [tcp("0.0.0.0", 9), tcp("0.0.0.0", 10000)] },
])("normalizeListeners() sorts $name", ({ input, want }) => {
  expect(normalizeListeners(input)).toEqual(want);
});

test.each<{ name: string; a: GuestListener[]; b: GuestListener[]; want: boolean }>([
  { name: "equal lists", a: [tcp("::", 80)], b: [tcp("::", 80)], want: true },
  { name: "lists of different length", a: [tcp("::", 80)], b: [], want: false },
  { name: "a different address", a: [tcp("::", 80)], b: [tcp("::1", 80)], want: false },
  { name: "a different proto", a: [tcp("::", 80)], b: [udp("::", 80)], want: false },
])("sameListeners() compares $name", ({ a, b, want }) => {
  expect(sameListeners(a, b)).toBe(want);
});
