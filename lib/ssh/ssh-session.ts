// One SSH connection to a guest, kept open for the host agent's many small checks (boot markers, probes), so each
// check costs a channel rather than a handshake. ssh2 rather than the system `ssh`: no process per check.
import type { Client } from "ssh2";
import { DenError } from "../errors.ts";
import { connectClient } from "./connect-client.ts";
import { SshAddress } from "./ssh-options.ts";

export interface SshSessionOptions {
  port: number;
  host?: string;
  user: string;
  privateKey: string | Buffer;
  /** For the connection and login; 10 s by default. */
  readyTimeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command was killed by a signal. */
  exitCode: number | null;
}

export interface SshSession {
  /** Runs a command through the remote user's shell; rejects only when the connection fails or `timeoutMs` passes. */
  exec(command: string, options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** True until the connection drops or close() is called. */
  readonly open: boolean;
  close(): void;
}

export async function openSshSession(options: SshSessionOptions): Promise<SshSession> {
  const client = await connectClient({
    host: options.host ?? SshAddress,
    port: options.port,
    username: options.user,
    privateKey: options.privateKey,
    readyTimeout: options.readyTimeoutMs ?? 10_000,
    keepaliveInterval: KeepaliveIntervalMs,
  });
  return sessionOf(client);
}

/** Sends a keepalive after this much silence, so a session kept for minutes notices a guest that went away. */
export const KeepaliveIntervalMs = 5_000;

/** The session of a client that is logged in ("ready" came); it owns the client from here on. */
export function sessionOf(client: Client): SshSession {
  let open = true;
  client.on("error", () => (open = false));
  client.on("close", () => (open = false));
  return {
    exec: (command, execOptions = {}) => execIn(client, command, execOptions.timeoutMs ?? 30_000),
    get open() {
      return open;
    },
    close: () => client.end(),
  };
}

function execIn(client: Client, command: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new DenError("SSH_UNREACHABLE", `Command "${command}" in the guest did not finish within ${timeoutMs} ms`)), timeoutMs);
    client.exec(command, (error, channel) => {
      if (error) {
        clearTimeout(timer);
        reject(new DenError("SSH_UNREACHABLE", `Cannot run "${command}" in the guest: ${error.message}`, { cause: error }));
        return;
      }
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exitCode: number | null = null;
      channel.on("data", (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      channel.on("exit", (code: number | null) => (exitCode = code));
      channel.on("close", () => {
        clearTimeout(timer);
        resolve({ stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8"), exitCode });
      });
    });
  });
}
