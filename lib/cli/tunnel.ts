// What `den tunnel` does: `ssh -f -N -D 127.0.0.1:PORT` into a running instance, as `limactl tunnel` runs it, then
// instructions for using the proxy. ssh forks itself into the background once the forward is up; den waits for
// that (bounded) and checks that the port answers before it says so.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import { DenError, excerpt } from "../errors.ts";
import { sleep } from "../process/sleep.ts";
import { SshAddress, type SshOption, sshArgs } from "../ssh/ssh-options.ts";
import { TunnelLog } from "../store/filenames.ts";
import { contextFrom } from "./context.ts";
import { instanceSshOptions, runningInstance, sshCommand } from "./shell.ts";
import type { TunnelOptions } from "./tunnel-command.ts";

/** How long ssh may take to log in and go to the background. */
const SshTimeoutMs = 60_000;
/** How long the SOCKS port may take to accept connections after ssh went to the background. */
const ListenTimeoutMs = 5_000;

/** `--socks-port` as Lima reads it: absent or 0 is "any free port", else 1024-65535. */
export function parseSocksPort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!/^\d+$/.test(text) || (port !== 0 && (port < 1024 || port > 65535))) {
    throw new DenError("USAGE", `Cannot use --socks-port "${excerpt(text)}": not a port between 1024 and 65535`, {
      hint: "give a free unprivileged port such as 1080, or leave --socks-port out for a free one",
    });
  }
  return port;
}

/** The ssh argv: den's options for the instance, then `-q -f -N -D 127.0.0.1:PORT -p SSHPORT 127.0.0.1`. */
export function tunnelSshArgv(options: readonly SshOption[], params: { ssh: readonly string[]; socksPort: number; sshPort: number }): string[] {
  return [...params.ssh, "-F", "/dev/null", ...sshArgs(options), "-q", "-f", "-N", "-D", `${SshAddress}:${params.socksPort}`, "-p", String(params.sshPort), SshAddress];
}

/** What to tell the user, per host OS as Lima words it. */
export function renderTunnelInstructions(platform: string, socksPort: number): string {
  const lines =
    platform === "darwin"
      ? [
          "Open <System Settings> → <Network> → <Wi-Fi> (or whatever) → <Details> → <Proxies> → <SOCKS proxy>,",
          "and specify the following configuration:",
          `- Server: ${SshAddress}`,
          `- Port: ${socksPort}`,
        ]
      : platform === "win32"
        ? ["Open <Settings> → <Network & Internet> → <Proxy>,", "and specify the following configuration:", `- Address: socks=${SshAddress}`, `- Port: ${socksPort}`]
        : [`Set \`ALL_PROXY=socks5h://${SshAddress}:${socksPort}\`, etc.`];
  // socks5h: host names are resolved by the guest's sshd, so "localhost" is the guest itself.
  lines.push(
    `The instance can be connected from the host as <http://localhost> via a web browser or e.g. \`curl --socks5-hostname ${SshAddress}:${socksPort} http://localhost:PORT\`.`,
    "The tunnel lasts until the instance stops.",
  );
  return `${lines.join("\n")}\n`;
}

/** What `den tunnel` does (declared in tunnel-command.ts). */
export async function runTunnel(name: string, options: TunnelOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const requested = parseSocksPort(options.socksPort);
  ctx.logger.warn("den tunnel is experimental");
  const info = await runningInstance(ctx, name);
  const config = await loadInstanceConfig(ctx.denHome, name);
  const socksPort = requested === 0 ? await freePort() : requested;
  const ssh = sshCommand(ctx.env);
  const argv = tunnelSshArgv(await instanceSshOptions(ctx, info, config, ssh), { ssh, socksPort, sshPort: info.sshLocalPort ?? 0 });
  ctx.logger.debug("Running ssh", { argv });
  await runUntilBackground(argv, join(info.dir, TunnelLog));
  await waitForListener(socksPort);
  ctx.stdout(renderTunnelInstructions(process.platform, socksPort));
}

/**
 * Runs ssh until it exits, which with -f is when it has gone to the background. Its output goes to `log`, never to
 * den's own stdout or stderr: the background ssh keeps what it was given open for as long as the tunnel lives, and a
 * script reading den's output (`out=$(den tunnel vm 2>&1)`) would wait for the tunnel to end.
 */
async function runUntilBackground(argv: readonly string[], log: string): Promise<void> {
  let child: ReturnType<typeof Bun.spawn>;
  const fd = openSync(log, "a", 0o600);
  try {
    child = Bun.spawn([...argv], { stdin: "ignore", stdout: fd, stderr: fd });
  } catch (error) {
    throw new DenError("HOST_TOOL_MISSING", `Cannot run "${argv[0]}": ${(error as Error).message}`, { cause: error, hint: "install OpenSSH's client or set SSH" });
  } finally {
    closeSync(fd);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), SshTimeoutMs);
  });
  const outcome = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    child.kill("SIGKILL");
    await child.exited;
    throw new DenError("COMMAND_TIMEOUT", `Cannot open the tunnel: ssh did not connect within ${SshTimeoutMs / 1000} s`, { hint: "run with --debug to see the ssh command, and try it by hand with -v" });
  }
  if (outcome !== 0) {
    const said = (await readFile(log, "utf8").catch(() => "")).trim().split("\n").slice(-3).join("; ");
    throw new DenError("SSH_UNREACHABLE", `Cannot open the tunnel: ssh exited with status ${outcome}${said ? `: ${excerpt(said)}` : ""}`, {
      hint: `see ${log}; a port in use shows as "bind: Address already in use": choose another --socks-port`,
    });
  }
}

async function waitForListener(port: number): Promise<void> {
  const deadline = Date.now() + ListenTimeoutMs;
  while (!(await accepts(port))) {
    if (Date.now() >= deadline) {
      throw new DenError("SSH_UNREACHABLE", `Cannot open the tunnel: nothing listens on ${SshAddress}:${port} after ssh went to the background`, {
        hint: "run with --debug to see the ssh command, and try it by hand with -v",
      });
    }
    await sleep(100);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: SshAddress, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A port nothing listens on now; ssh binds it a moment later (Lima picks its port the same way). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, SshAddress, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new DenError("IO", "Cannot find a free port on 127.0.0.1"))));
    });
  });
}
