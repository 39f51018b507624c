// TCP forwarded by the VM's own network stack (QEMU's slirp hostfwd: drivers/qemu/slirp-host-forwarder.ts), through
// the driver's HostForwarder: several times faster than any tunnel, but it reaches only the guest's NIC, so the
// reconciler sends it only what forwardPath() allows. When the driver cannot add the forward for any reason but a
// taken host port, the open fails as a fallback: the agent path would meet the same taken port, and nothing else.
import type { HostForward, HostForwarder, HostForwardResult } from "../../drivers/driver.ts";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { ForwardOpenError, type ForwardTransport } from "./forward-transport.ts";
import { describeListenFailure } from "./listen-failure.ts";
import { hostEndpointText } from "./match-port-rule.ts";

export function hostForwardTransport(hostForwarder: HostForwarder, options: { log: Logger }): ForwardTransport {
  return {
    kind: "qemu-hostfwd",
    open: async (forward) => {
      const { host, guest } = forward;
      if (host.kind !== "inet" || guest.kind !== "inet") throw new DenError("INTERNAL", "Cannot forward through the VM's network: both ends must be an address and port");
      // The guest port only: slirp sends to the address its DHCP handed the guest, whatever the listener's address.
      const hostForward: HostForward = { proto: "tcp", hostIP: host.ip, hostPort: host.port, guestPort: guest.port };
      const result: HostForwardResult = await hostForwarder.add(hostForward).catch((error: unknown) => ({
        ok: false,
        reason: "listen-failed",
        detail: error instanceof Error ? error.message : String(error),
      }));
      if (!result.ok) {
        if (result.reason === "port-in-use") throw new ForwardOpenError({ ...describeListenFailure({ code: "EADDRINUSE" }, { port: host.port }), detail: result.detail });
        throw new ForwardOpenError({ reason: "listen-failed", detail: result.detail, hint: "see ha.stderr.log in the instance folder" }, { fallback: true });
      }
      return {
        via: "qemu-hostfwd",
        // QEMU carries the connections without den seeing them.
        connections: 0,
        close: () =>
          hostForwarder.remove(hostForward).catch((error: unknown) => {
            options.log.warn(`Cannot stop forwarding host ${hostEndpointText(host)} through QEMU: ${error instanceof Error ? error.message : String(error)}`);
          }),
      };
    },
  };
}
