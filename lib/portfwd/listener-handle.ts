// A forward carried by a host listener of den's own (stream-host-listener.ts, udp-host-listener.ts), as the agent
// and SSH transports return it: the one place where node's listen error becomes a ForwardOpenError.
import { type ForwardHandle, ForwardOpenError, openFailure } from "./forward-transport.ts";
import type { HostEndpoint } from "./match-port-rule.ts";
import type { ForwardPath } from "./port-forward-report.ts";
import type { HostListener } from "./stream-host-listener.ts";

export async function listenerHandle(host: HostEndpoint, options: { via: ForwardPath; listen: () => Promise<HostListener> }): Promise<ForwardHandle> {
  let listener: HostListener;
  try {
    listener = await options.listen();
  } catch (error) {
    throw new ForwardOpenError(openFailure(error, host), { cause: error });
  }
  return {
    via: options.via,
    get connections() {
      return listener.connections;
    },
    close: () => listener.close(),
  };
}
