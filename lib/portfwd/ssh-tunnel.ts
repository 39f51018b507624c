// One SSH connection to the guest for `static: true` rules: Lima sets those up over SSH at boot (`ssh -L`), so they
// work without the guest agent (plain mode). Each host connection becomes a direct-tcpip channel (ssh2 forwardOut).
import type { Duplex } from "node:stream";
import { Client } from "ssh2";
import { DenError } from "../errors.ts";

export interface SshTunnel {
  /** Opens a channel to `host:port` as seen from inside the guest. */
  forwardOut(host: string, port: number): Promise<Duplex>;
  close(): void;
}

export function openSshTunnel(options: { port: number; user: string; privateKey: string | Buffer }): Promise<SshTunnel> {
  const client = new Client();
  let ready = false;
  return new Promise((resolve, reject) => {
    client.once("ready", () => {
      ready = true;
      resolve({
        forwardOut: (host, port) =>
          new Promise((resolveChannel, rejectChannel) => {
            client.forwardOut("127.0.0.1", 0, host, port, (error, channel) => {
              if (error) rejectChannel(new DenError("SSH_UNREACHABLE", `Cannot open an SSH channel to ${host}:${port} in the guest: ${error.message}`, { cause: error }));
              else resolveChannel(channel);
            });
          }),
        close: () => client.end(),
      });
    });
    client.on("error", (error) => {
      if (!ready) reject(new DenError("SSH_UNREACHABLE", `Cannot connect to the guest over SSH on port ${options.port}: ${error.message}`, { cause: error }));
    });
    client.connect({ host: "127.0.0.1", port: options.port, username: options.user, privateKey: options.privateKey, readyTimeout: 10_000, keepaliveInterval: 5_000 });
  });
}
