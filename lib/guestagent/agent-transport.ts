// How the host reaches the guest agent's byte stream. QEMU exposes the virtio-serial port as a unix socket it serves;
// VZ will hand out vsock connections; tests connect to an in-process agent. The client only needs `dial`.
import { createConnection } from "node:net";
import type { Duplex } from "node:stream";
import type { GuestAgentConnection } from "../../drivers/driver.ts";
import { DenError } from "../errors.ts";

export interface GuestAgentTransport {
  /** For messages: where the agent is reached, e.g. the socket path. */
  readonly description: string;
  /** Opens one byte stream to the agent side; rejects when the endpoint is not there (yet). */
  dial(signal: AbortSignal): Promise<Duplex>;
}

export function transportFor(connection: GuestAgentConnection): GuestAgentTransport {
  if (connection.transport === "unix") return unixTransport(connection.path);
  return {
    description: "ssh",
    dial: () => Promise.reject(new DenError("GUEST_AGENT", "Cannot reach the guest agent over SSH: this den version has no such transport")),
  };
}

export function unixTransport(path: string): GuestAgentTransport {
  return {
    description: path,
    dial: (signal) =>
      new Promise((resolve, reject) => {
        const socket = createConnection({ path, allowHalfOpen: false });
        const onAbort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        signal.addEventListener("abort", onAbort, { once: true });
        socket.once("error", (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        });
        socket.once("connect", () => {
          signal.removeEventListener("abort", onAbort);
          socket.removeAllListeners("error");
          resolve(socket);
        });
      }),
  };
}
