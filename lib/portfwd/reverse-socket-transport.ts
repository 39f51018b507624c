// A host socket exposed in the guest (`reverse: true` rules, Lima's ssh -R): the guest agent listens on the guest
// socket, and each connection made there is joined to a new connection to the host socket.
import { connect } from "node:net";
import { DenError } from "../errors.ts";
import type { GuestAgentClient } from "../guestagent/guest-agent-client.ts";
import { ForwardOpenError, type ForwardTransport } from "./forward-transport.ts";
import { pipeDuplex } from "./pipe-duplex.ts";

export function reverseSocketTransport(agent: GuestAgentClient, options: { guestUser: { uid: number; gid: number } }): ForwardTransport {
  return {
    kind: "reverse-socket",
    open: async (forward, ctx) => {
      const { host, guest } = forward;
      if (host.kind !== "unix" || guest.kind !== "unix") throw new DenError("INTERNAL", "Cannot expose a host socket in the guest: both ends must be socket paths");
      let connections = 0;
      let handle: { close(): Promise<void> };
      try {
        // sshd's -R creates the socket as the user with mode 0600 (StreamLocalBindMask 0177); the agent does the same.
        handle = await agent.listenInGuest({ path: guest.path, uid: options.guestUser.uid, gid: options.guestUser.gid, mode: 0o600 }, (stream) => {
          connections++;
          const socket = connect(host.path);
          socket.on("error", (error) => {
            ctx.onTunnel({ error });
            // Not left open: the guest would wait on it, and each one it opens would hold a stream on the host.
            stream.destroy();
          });
          socket.once("connect", () => {
            ctx.onTunnel({});
            pipeDuplex(socket, stream);
          });
          stream.on("error", () => socket.destroy());
        });
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new ForwardOpenError({ reason: "listen-failed", detail, hint: "den tries again when the guest agent reconnects; see ha.stderr.log in the instance folder" }, { cause: error });
      }
      return {
        via: "agent",
        get connections() {
          return connections;
        },
        close: () => handle.close(),
      };
    },
  };
}
