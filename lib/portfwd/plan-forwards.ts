// From the guest's listener list to the host listeners that should exist (pure). Several guest listeners may land on
// one host address: a server on both 0.0.0.0:8080 and [::]:8080 is one service and gets one host listener; two
// different guest ports mapped onto one host port by the rules are a conflict, and the later one is refused.
import type { FilledPortForward } from "../config/schema.ts";
import type { GuestListener } from "../../agent/protocol/messages.ts";
import { isIpv6, isLoopbackIp, isUnspecifiedIp } from "./ip-address.ts";
import { guestAddressText, type HostEndpoint, hostEndpointText, matchPortRule } from "./match-port-rule.ts";

export interface PlannedForward {
  /** `tcp 127.0.0.1:8080`: one host listener per key. */
  key: string;
  proto: "tcp" | "udp";
  host: HostEndpoint;
  /** The listener connections are sent to. */
  target: GuestListener;
  /** Every guest listener this host listener stands for, target first. */
  guests: GuestListener[];
  ruleIndex: number;
}

export interface PlannedConflict {
  key: string;
  proto: "tcp" | "udp";
  host: HostEndpoint;
  guest: GuestListener;
  /** The listener that holds the host address. */
  holder: GuestListener;
  ruleIndex: number;
}

export interface NotForwarded {
  listener: GuestListener;
  why: "ignore" | "static" | "none";
}

export interface ForwardPlan {
  forwards: PlannedForward[];
  conflicts: PlannedConflict[];
  notForwarded: NotForwarded[];
}

export function planForwards(rules: readonly FilledPortForward[], listeners: readonly GuestListener[]): ForwardPlan {
  const plan: ForwardPlan = { forwards: [], conflicts: [], notForwarded: [] };
  const byKey = new Map<string, PlannedForward>();
  for (const listener of [...listeners].sort(preferredFirst)) {
    const match = matchPortRule(rules, listener);
    if (match.kind !== "forward") {
      plan.notForwarded.push({ listener, why: match.kind });
      continue;
    }
    const key = `${listener.proto} ${hostEndpointText(match.host)}`;
    const held = byKey.get(key);
    if (!held) {
      const forward: PlannedForward = { key, proto: listener.proto, host: match.host, target: listener, guests: [listener], ruleIndex: match.ruleIndex };
      byKey.set(key, forward);
      plan.forwards.push(forward);
    } else if (sameService(held.target, listener)) {
      held.guests.push(listener);
    } else {
      plan.conflicts.push({ key, proto: listener.proto, host: match.host, guest: listener, holder: held.target, ruleIndex: match.ruleIndex });
    }
  }
  return plan;
}

/** The address to dial in the guest: a wildcard listener is reached on its family's loopback. */
export function dialAddress(listener: GuestListener): string {
  if (!isUnspecifiedIp(listener.ip)) return listener.ip;
  return isIpv6(listener.ip) ? "::1" : "127.0.0.1";
}

export function guestListText(guests: readonly GuestListener[]): string {
  return guests.map(guestAddressText).join(", ");
}

/** Same port, both reachable on the guest's loopback: one server listening on several local addresses. */
function sameService(a: GuestListener, b: GuestListener): boolean {
  const local = (ip: string) => isUnspecifiedIp(ip) || isLoopbackIp(ip);
  return a.port === b.port && local(a.ip) && local(b.ip);
}

/** IPv4 before IPv6, wildcard before loopback before the rest, then by port: the target stays put as lists change. */
function preferredFirst(a: GuestListener, b: GuestListener): number {
  const rank = (listener: GuestListener) => (isIpv6(listener.ip) ? 3 : 0) + (isUnspecifiedIp(listener.ip) ? 0 : isLoopbackIp(listener.ip) ? 1 : 2);
  return rank(a) - rank(b) || a.port - b.port || a.ip.localeCompare(b.ip) || a.proto.localeCompare(b.proto);
}
