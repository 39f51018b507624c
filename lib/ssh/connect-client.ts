// Logging an ssh2 client in to the guest's sshd, for every kept connection of den's (the host agent's session, the
// static forwards' tunnel, reverse-sshfs). ssh2 reports a connection that closes after the server's version line and
// before the login ends with "close" alone: no "error", and its readyTimeout is cleared. A wait for "ready" or "error"
// then never ends whenever sshd drops a login half-way. So "close" ends the wait too.
import { Client, type ConnectConfig } from "ssh2";
import { DenError } from "../errors.ts";

/**
 * Resolves with a new client once logged in; rejects with SSH_UNREACHABLE on an error, or a close before the login ended.
 * Its "error" listener stays, so a later error never goes unhandled: the caller watches "close" for the end.
 */
export function connectClient(config: ConnectConfig & { port: number }): Promise<Client> {
  const client = new Client();
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: { reason: string; cause?: unknown }) => {
      if (settled) return;
      settled = true;
      if (error) reject(new DenError("SSH_UNREACHABLE", `Cannot connect to the guest over SSH on port ${config.port}: ${error.reason}`, { cause: error.cause }));
      else resolve(client);
    };
    client.once("ready", () => settle());
    client.on("error", (error: Error) => settle({ reason: error.message, cause: error }));
    client.once("close", () => settle({ reason: "the connection closed before the login ended" }));
    client.connect(config);
  });
}
