// Which path carries a planned forward (pure). The VM's own network stack (QEMU's slirp hostfwd) is the fastest by
// far (bench/ports under TCG: 2.8–3.1× ssh -L both ways, where the agent channel gives 0.9–1.0× host → guest and
// 2.3–2.6× guest → host), but it can only reach the guest's NIC address: a TCP listener on 0.0.0.0 or :: qualifies,
// one on 127.0.0.1 or another single address does not. The host side must be an IPv4 address, as hostfwd_add takes
// no other. Everything else goes over the agent.
// Connections so forwarded arrive on the guest's NIC from the slirp gateway (10.0.2.2), not on its loopback, so a
// guest firewall that filters the NIC would stop them where the agent path still works.
import { ipBytes, isIpv6, isUnspecifiedIp } from "./ip-address.ts";
import type { PlannedForward } from "./plan-forwards.ts";
import type { ForwardPath } from "./port-forward-report.ts";

/** The transport that carries the forward: the VM's network (host-forward-transport.ts) or the agent channel. */
export function forwardPath(planned: PlannedForward, options: { hostForwarder: boolean }): Extract<ForwardPath, "qemu-hostfwd" | "agent"> {
  const { host, target } = planned;
  if (!options.hostForwarder || planned.proto !== "tcp" || host.kind !== "inet") return "agent";
  if (!isPlainIpv4(host.ip) || !isUnspecifiedIp(target.ip)) return "agent";
  return "qemu-hostfwd";
}

/** Dotted-quad text: QEMU parses the host address with inet_aton, so no IPv4-mapped IPv6 form. */
function isPlainIpv4(ip: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) && ipBytes(ip) !== undefined && !isIpv6(ip);
}
