// Which rule decides a guest listener's fate, and where on the host it lands: Lima's forwardingAddresses
// (pkg/portfwd/forward.go) as a pure function. First matching rule wins; socket rules never match a listener.
import type { FilledPortForward } from "../config/schema.ts";
import type { GuestListener } from "../../agent/protocol/messages.ts";
import { isUnspecifiedIp, joinHostPort, sameIp } from "./ip-address.ts";

/** Where a forward listens on the host: an address and port, or a unix socket (a rule with `hostSocket`). */
export type HostEndpoint = { kind: "inet"; ip: string; port: number } | { kind: "unix"; path: string };

export type PortRuleMatch =
  /** Forward to `host`; `ruleIndex` points into the rule list given. */
  | { kind: "forward"; ruleIndex: number; host: HostEndpoint }
  /** An `ignore` rule matched. */
  | { kind: "ignore"; ruleIndex: number }
  /** A `static` rule covers the port: forwarded at boot over SSH, never dynamically (it would collide). */
  | { kind: "static"; ruleIndex: number }
  /** No rule matched: not forwarded (Lima logs "Not forwarding TCP …"). */
  | { kind: "none" };

export function matchPortRule(rules: readonly FilledPortForward[], listener: GuestListener): PortRuleMatch {
  // Lima checks the static rules first and by port only, before any other matching.
  const staticIndex = rules.findIndex((rule) => rule.static && !rule.guestSocket && inRange(listener.port, rule.guestPortRange));
  if (staticIndex >= 0) return { kind: "static", ruleIndex: staticIndex };
  const guestUnspecified = isUnspecifiedIp(listener.ip);
  for (const [ruleIndex, rule] of rules.entries()) {
    if (rule.guestSocket) continue;
    if (rule.proto !== "any" && rule.proto !== listener.proto) continue;
    if (!inRange(listener.port, rule.guestPortRange)) continue;
    if (!ipMatches(listener.ip, rule)) continue;
    if (rule.ignore) {
      // An ignore rule for one address does not swallow a listener on all addresses: a later rule may forward it.
      if (guestUnspecified && !isUnspecifiedIp(rule.guestIP)) continue;
      return { kind: "ignore", ruleIndex };
    }
    const host: HostEndpoint = rule.hostSocket
      ? { kind: "unix", path: rule.hostSocket }
      : { kind: "inet", ip: rule.hostIP, port: listener.port + rule.hostPortRange[0] - rule.guestPortRange[0] };
    return { kind: "forward", ruleIndex, host };
  }
  return { kind: "none" };
}

/** The guest side of a listener as Lima prints it (`127.0.0.1:8080`, `[::]:8080`). */
export function guestAddressText(listener: GuestListener): string {
  return joinHostPort(listener.ip, listener.port);
}

export function hostEndpointText(host: HostEndpoint): string {
  return host.kind === "unix" ? host.path : joinHostPort(host.ip, host.port);
}

function ipMatches(guestIP: string, rule: FilledPortForward): boolean {
  if (isUnspecifiedIp(guestIP)) return true;
  if (sameIp(guestIP, rule.guestIP)) return true;
  // A guest listener on ::1 counts as loopback for a 127.0.0.1 rule.
  if (sameIp(guestIP, "::1") && sameIp(rule.guestIP, "127.0.0.1")) return true;
  // With guestIPMustBeZero the rule matches only a wildcard listener, handled above.
  return isUnspecifiedIp(rule.guestIP) && !rule.guestIPMustBeZero;
}

function inRange(port: number, range: readonly [number, number] | readonly number[]): boolean {
  return port >= (range[0] as number) && port <= (range[1] as number);
}
