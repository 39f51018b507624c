// Byte streams over the guest agent channel: a host listener (TCP address or unix socket), each of whose connections
// becomes an agent stream to the guest end, a TCP address or a unix socket in the guest (the same path for both:
// only the target of agent.openStream differs). The default path for TCP listeners and for guest socket rules.
import type { GuestStreamTarget } from "../../agent/protocol/messages.ts";
import type { GuestAgentClient } from "../guestagent/guest-agent-client.ts";
import type { ForwardRequest, ForwardTransport } from "./forward-transport.ts";
import { listenerHandle } from "./listener-handle.ts";
import { listenForStreams } from "./stream-host-listener.ts";

export function agentStreamTransport(agent: GuestAgentClient): ForwardTransport {
  return {
    kind: "agent-stream",
    open: (forward, ctx) =>
      listenerHandle(forward.host, {
        via: "agent",
        listen: () => listenForStreams(forward.host, { open: () => agent.openStream(streamTarget(forward)), onTunnel: ctx.onTunnel }),
      }),
  };
}

/** Read per connection: the guest end may have moved since the forward opened (forward-transport.ts). */
function streamTarget(forward: Readonly<ForwardRequest>): GuestStreamTarget {
  const { guest } = forward;
  return guest.kind === "unix" ? { kind: "unix", path: guest.path } : { kind: "tcp", host: guest.ip, port: guest.port };
}
