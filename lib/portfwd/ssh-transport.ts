// TCP over SSH channels, for `static: true` rules (Lima's ssh -L at boot): a host listener whose connections each
// become a direct-tcpip channel of one SSH connection (ssh-tunnel.ts) to the guest address. It needs no guest agent.
import { DenError } from "../errors.ts";
import type { ForwardTransport } from "./forward-transport.ts";
import { listenerHandle } from "./listener-handle.ts";
import { listenForStreams } from "./stream-host-listener.ts";
import type { SshTunnel } from "./ssh-tunnel.ts";

export function sshTransport(tunnel: Pick<SshTunnel, "forwardOut">): ForwardTransport {
  return {
    kind: "ssh",
    open: async (forward, ctx) => {
      const { guest } = forward;
      if (guest.kind !== "inet") throw new DenError("INTERNAL", `Cannot forward guest socket "${guest.path}" over SSH: static rules forward TCP ports`);
      return listenerHandle(forward.host, {
        via: "ssh",
        listen: () => listenForStreams(forward.host, { open: () => tunnel.forwardOut(guest.ip, guest.port), onTunnel: ctx.onTunnel }),
      });
    },
  };
}
