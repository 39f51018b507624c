// UDP over the guest agent channel: a host UDP socket whose peers each get an agent datagram stream to the guest
// address (udp-host-listener.ts). A host socket cannot take datagrams, so the reconciler never routes UDP to one.
import type { GuestStreamTarget } from "../../agent/protocol/messages.ts";
import { DenError } from "../errors.ts";
import type { GuestAgentClient } from "../guestagent/guest-agent-client.ts";
import type { ForwardRequest, ForwardTransport } from "./forward-transport.ts";
import { listenerHandle } from "./listener-handle.ts";
import { listenForDatagrams } from "./udp-host-listener.ts";

export function agentDatagramTransport(agent: GuestAgentClient, options: { idleMs?: number } = {}): ForwardTransport {
  return {
    kind: "agent-datagram",
    open: async (forward, ctx) => {
      const { host } = forward;
      if (host.kind !== "inet") throw new DenError("INTERNAL", `Cannot forward UDP to host socket "${host.path}": datagrams cannot go to a stream socket`);
      datagramTarget(forward);
      return listenerHandle(host, {
        via: "agent",
        listen: () =>
          listenForDatagrams(host, {
            open: async () => agent.openStream(datagramTarget(forward)),
            onTunnel: ctx.onTunnel,
            ...(options.idleMs !== undefined && { idleMs: options.idleMs }),
          }),
      });
    },
  };
}

/** Read per peer: the guest end may have moved since the forward opened (forward-transport.ts). */
function datagramTarget(forward: Readonly<ForwardRequest>): GuestStreamTarget {
  const { guest } = forward;
  if (guest.kind !== "inet") throw new DenError("INTERNAL", `Cannot forward UDP to guest socket "${guest.path}": datagrams need an address and port`);
  return { kind: "udp", host: guest.ip, port: guest.port };
}
