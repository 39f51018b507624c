// One SSH connection to the guest for `static: true` rules: Lima sets those up over SSH at boot (`ssh -L`), so they
// work without the guest agent (plain mode). Each host connection becomes a direct-tcpip channel (ssh2 forwardOut).
import type { Duplex } from "node:stream";
import { DenError } from "../errors.ts";
import { connectClient } from "../ssh/connect-client.ts";

export interface SshTunnel {
  /** Opens a channel to `host:port` as seen from inside the guest. */
  forwardOut(host: string, port: number): Promise<Duplex>;
  close(): void;
}

export async function openSshTunnel(options: { port: number; user: string; privateKey: string | Buffer }): Promise<SshTunnel> {
  const client = await connectClient({ host: "127.0.0.1", port: options.port, username: options.user, privateKey: options.privateKey, readyTimeout: 10_000, keepaliveInterval: 5_000 });
  return {
    forwardOut: (host, port) =>
      new Promise((resolveChannel, rejectChannel) => {
        client.forwardOut("127.0.0.1", 0, host, port, (error, channel) => {
          if (error) rejectChannel(new DenError("SSH_UNREACHABLE", `Cannot open an SSH channel to ${host}:${port} in the guest: ${error.message}`, { cause: error }));
          else resolveChannel(channel);
        });
      }),
    close: () => client.end(),
  };
}
