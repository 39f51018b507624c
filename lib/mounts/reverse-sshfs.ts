// One reverse-sshfs mount, kept alive: an SSH connection of its own runs `sshfs -o slave` in the guest, and the
// exec channel's stdin/stdout are wired to an SFTP server on the host (OpenSSH's sftp-server as a child process,
// or den's built-in one in-process). When the connection drops (guest sshd restarted, network hiccup), the mount
// is made again with growing pauses until it works or the mount is stopped.
import { spawn, type ChildProcess } from "node:child_process";
import type { Client, ClientChannel } from "ssh2";
import type { FilledMount } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { rateLimitLog } from "../log-rate-limit.ts";
import { connectClient } from "../ssh/connect-client.ts";
import { SshAddress } from "../ssh/ssh-options.ts";
import { serveBuiltinSftp } from "./builtin-sftp-server.ts";
import { sftpServerArgs } from "./find-sftp-server.ts";
import { mountCheckScript, mountProblem, parseMountCheck } from "./guest-mount-check.ts";
import { sshfsCommand, sshfsUnmountCommand } from "./sshfs-command.ts";

/** Which SFTP server answers sshfs: OpenSSH's (at `path`) or den's built-in one. */
export type SftpBackend = { kind: "openssh"; path: string } | { kind: "builtin" };

export interface ReverseSshfsContext {
  ssh: { port: number; user: string; privateKey: string };
  sftp: SftpBackend;
  log: Logger;
  /** Called whenever the mount goes down (with the reason) or comes back (problem undefined). */
  onChange(problem: string | undefined): void;
  /** How long one attempt waits for the mount to show up in the guest; 30 s (Lima polls 30 × 1 s). */
  mountTimeoutMs?: number;
  /** Pause before the first remount after a drop; doubles up to 30 s. Default 1 s. */
  retryDelayMs?: number;
}

export interface ReverseSshfsMount {
  /** Resolves once the mount first works; rejects with the reason it cannot be made. */
  ready: Promise<void>;
  /** Unmounts in the guest, closes the connection and ends the SFTP server; never throws. */
  stop(): Promise<void>;
}

const PollMs = 500;
const MaxRetryDelayMs = 30_000;
const StderrKeep = 2_000;

interface Attempt {
  /** Settles when the channel or the connection closes after the mount was made. */
  lost: Promise<string>;
  close(options: { unmount: boolean }): Promise<void>;
}

export function startReverseSshfs(mount: FilledMount, hostCtx: ReverseSshfsContext): ReverseSshfsMount {
  // The guest can drop its mount or send bad SFTP packets in a loop: every line it can cause is rate-limited.
  const guestLines = rateLimitLog(hostCtx.log);
  const ctx: ReverseSshfsContext = { ...hostCtx, log: guestLines.kind(`reverse-sshfs ${mount.mountPoint}`) };
  let stopping = false;
  let current: Attempt | undefined;
  const stopped = Promise.withResolvers<void>();

  const run = async (): Promise<void> => {
    current = await attempt(mount, ctx);
    void (async () => {
      let delay = ctx.retryDelayMs ?? 1000;
      while (!stopping && current) {
        const reason = await Promise.race([current.lost, stopped.promise.then(() => undefined)]);
        if (stopping || reason === undefined) return;
        await current.close({ unmount: false });
        current = undefined;
        ctx.log.warn(`Mount "${mount.mountPoint}" was lost (${reason}); mounting it again`);
        ctx.onChange(`it was lost (${reason}); den is mounting it again`);
        while (!stopping && !current) {
          await Promise.race([Bun.sleep(delay), stopped.promise]);
          if (stopping) return;
          try {
            current = await attempt(mount, ctx);
            delay = ctx.retryDelayMs ?? 1000;
            ctx.log.info(`Mount "${mount.mountPoint}" is back`);
            ctx.onChange(undefined);
          } catch (error) {
            delay = Math.min(delay * 2, MaxRetryDelayMs);
            ctx.onChange(`it was lost and cannot be mounted again yet: ${errorText(error)}`);
          }
        }
      }
    })();
  };

  return {
    ready: run(),
    async stop() {
      stopping = true;
      stopped.resolve();
      await current?.close({ unmount: true });
      current = undefined;
      guestLines.flush();
    },
  };
}

/** Connects, starts sshfs and the SFTP server, and waits until the guest shows the mount. */
async function attempt(mount: FilledMount, ctx: ReverseSshfsContext): Promise<Attempt> {
  const client = await connect(ctx.ssh);
  const closed = new Promise<string>((resolve) => {
    client.once("close", () => resolve("the SSH connection closed"));
    client.on("error", (error) => resolve(`SSH error: ${error.message}`));
  });
  let channel: ClientChannel;
  try {
    channel = await exec(client, sshfsCommand(mount));
  } catch (error) {
    client.end();
    throw error;
  }
  let stderr = "";
  channel.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-StderrKeep);
  });
  const exited = new Promise<string>((resolve) => {
    let code: number | null = null;
    channel.on("exit", (exitCode: number | null) => (code = exitCode));
    channel.once("close", () => resolve(`sshfs exited${code === null ? "" : ` with code ${code}`}${stderr.trim() ? `: ${lastLine(stderr)}` : ""}`));
  });
  const server = serve(channel, mount, ctx);

  const close = async (options: { unmount: boolean }) => {
    if (options.unmount) await exec(client, sshfsUnmountCommand(mount.mountPoint)).then((ch) => drain(ch, 5_000)).catch(() => {});
    channel.close();
    client.end();
    await server.close();
  };

  const deadline = Date.now() + (ctx.mountTimeoutMs ?? 30_000);
  let problem = "it did not appear";
  for (;;) {
    const state = await Promise.race([exited.then((reason) => ({ exited: reason })), Bun.sleep(PollMs).then(() => undefined)]);
    if (state?.exited) {
      await close({ unmount: false });
      throw new DenError("IO", state.exited);
    }
    const check = await exec(client, mountCheckScript([mount.mountPoint]))
      .then((ch) => drain(ch, 10_000))
      .catch(() => "");
    const mounted = parseMountCheck(check, 1)[0];
    problem = mountProblem(mounted, mount, "reverse-sshfs") ?? "";
    if (problem === "") break;
    // Mounted but closed to the guest user: waiting changes nothing.
    if (mounted?.listable === false) {
      await close({ unmount: true });
      throw new DenError("IO", problem);
    }
    if (Date.now() > deadline) {
      await close({ unmount: true });
      throw new DenError("IO", `sshfs did not mount it within ${Math.round((ctx.mountTimeoutMs ?? 30_000) / 1000)} s: ${problem}${stderr.trim() ? ` (${lastLine(stderr)})` : ""}`);
    }
  }
  return { lost: Promise.race([exited, closed, server.failed]), close };
}

interface RunningSftp {
  failed: Promise<string>;
  close(): Promise<void>;
}

/** Wires the channel to the chosen SFTP server. */
function serve(channel: ClientChannel, mount: FilledMount, ctx: ReverseSshfsContext): RunningSftp {
  if (ctx.sftp.kind === "builtin") {
    const session = serveBuiltinSftp(channel, {
      root: mount.location,
      readOnly: !mount.writable,
      followSymlinks: mount.sshfs.followSymlinks,
      onProtocolError: (message) => ctx.log.warn(`Built-in SFTP server for "${mount.location}": ${message}`),
    });
    // The session ends with the channel; the timeout covers a channel that never reports its close.
    return { failed: new Promise(() => {}), close: () => Promise.race([session.done, Bun.sleep(2_000)]) };
  }
  const child: ChildProcess = spawn(ctx.sftp.path, sftpServerArgs(mount.location, { writable: mount.writable }), { stdio: ["pipe", "pipe", "pipe"] });
  const failed = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(`sftp-server exited (${signal ?? `code ${code}`})`));
    child.once("error", (error) => resolve(`cannot run ${ctx.sftp.kind === "openssh" ? ctx.sftp.path : "sftp-server"}: ${error.message}`));
  });
  channel.pipe(child.stdin!);
  child.stdout!.pipe(channel);
  child.stdin!.on("error", () => {});
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    for (const line of text.split("\n")) if (line.trim()) ctx.log.debug(`sftp-server: ${line.trim()}`, { mount: mount.location });
  });
  return {
    failed,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await Promise.race([failed, Bun.sleep(2_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    },
  };
}

function connect(ssh: ReverseSshfsContext["ssh"]): Promise<Client> {
  return connectClient({ host: SshAddress, port: ssh.port, username: ssh.user, privateKey: ssh.privateKey, readyTimeout: 20_000, keepaliveInterval: 5_000, keepaliveCountMax: 6 });
}

function exec(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => (error ? reject(new DenError("SSH_UNREACHABLE", `Cannot run a command in the guest: ${error.message}`, { cause: error })) : resolve(channel)));
  });
}

/** The channel's stdout once it closes (or what came within `timeoutMs`). */
function drain(channel: ClientChannel, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const timer = setTimeout(() => {
      channel.close();
      resolve(out);
    }, timeoutMs);
    channel.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    channel.stderr.resume();
    channel.once("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
