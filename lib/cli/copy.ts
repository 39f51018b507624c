// What `den copy|cp [-r] [-v] [--backend …] SOURCE… TARGET` does: the system `scp` or `rsync` between the host and
// instances; `INSTANCE:PATH` names a guest path. The copy program's exit code is passed through. The backend is
// chosen as Lima's pkg/copytool chooses it (chooseCopyBackend).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import { DenError, describeSystemError, ExitError, excerptPath } from "../errors.ts";
import { shellJoin } from "../shell/quote.ts";
import { opensshVersion } from "../ssh/openssh-version.ts";
import { type OpensshVersion, SshAddress, type SshOption, sshArgs } from "../ssh/ssh-options.ts";
import { checkInstanceName } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";
import type { CopyOptions, RequestedCopyBackend } from "./copy-command.ts";
import { instanceSshOptions, runInherited, runningInstance, sshCommand } from "./shell.ts";

/** A copy operand: a host path, or a path in an instance. */
export type CopyPath = { kind: "host"; path: string } | { kind: "guest"; instance: string; path: string };

/** What scpArgv needs to know about each instance named in the paths. */
export interface CopyGuest {
  user: string;
  port: number;
  /** The instance's full ssh options (from sshOptions()). */
  options: readonly SshOption[];
}

export interface ScpParams {
  guests: ReadonlyMap<string, CopyGuest>;
  recursive: boolean;
  verbose: boolean;
  opensshVersion?: OpensshVersion | undefined;
  scp?: string | undefined;
}

/**
 * `vm:/etc/hosts` is a guest path; `./a:b` and `/x:y` are host paths. As scp reads its operands, a colon before any
 * `/` makes a guest path, so `_config:x`, `..:x` or `:x` (an empty name) reach the instance name check instead of
 * becoming scp host names.
 */
export function parseCopyPath(arg: string): CopyPath {
  const match = /^([^/:]*):(.*)$/s.exec(arg);
  return match ? { kind: "guest", instance: match[1] as string, path: match[2] as string } : { kind: "host", path: arg };
}

/**
 * A host path as scp is given it: absolute, or starting with `./`. scp takes any operand with a colon before its
 * first `/` for a remote one, and one starting with `-` for an option; den decides what is local, never scp.
 */
export function scpHostOperand(path: string): string {
  return path.startsWith("/") || path.startsWith("./") || path.startsWith("../") ? path : `./${path}`;
}

// Per-host options cannot be shared by two guests: each guest's user and port travel in its scp:// URL instead.
const PerHostKeys = new Set(["User", "ControlMaster", "ControlPath", "ControlPersist", "Hostname", "Port"]);

/**
 * The scp argv. One guest: its options (ControlPath included, so the shell's connection is reused), `-P port` and
 * `user@127.0.0.1:path`. Several guests: only the shared options, and `scp://user@127.0.0.1:port/path` (OpenSSH ≥ 8.0).
 * `-3` routes guest-to-guest copies through the host, which holds the key.
 */
export function scpArgv(paths: readonly CopyPath[], params: ScpParams): string[] {
  const guests = [...new Set(paths.flatMap((path) => (path.kind === "guest" ? [path.instance] : [])))];
  const guest = (name: string): CopyGuest => {
    const found = params.guests.get(name);
    if (!found) throw new DenError("INTERNAL", `No connection details for instance "${name}"`);
    return found;
  };
  const version = params.opensshVersion;
  if (guests.length > 1 && version && version.major < 8) {
    throw new DenError("USAGE", `Cannot copy between ${guests.length} instances with OpenSSH ${version.major}.${version.minor}: it needs OpenSSH 8.0 or newer`, {
      hint: "copy through a host folder in two steps",
    });
  }
  const single = guests.length === 1 ? guest(guests[0] as string) : undefined;
  const options = single
    ? single.options.filter(([key]) => key !== "Hostname" && key !== "Port")
    : guests.length > 1
      ? guest(guests[0] as string).options.filter(([key]) => !PerHostKeys.has(key))
      : [];
  const operands = paths.map((path) => {
    if (path.kind === "host") return scpHostOperand(path.path);
    const { user, port } = guest(path.instance);
    return single ? `${user}@${SshAddress}:${path.path}` : `scp://${user}@${SshAddress}:${port}/${path.path}`;
  });
  return [
    params.scp ?? "scp",
    "-F",
    "/dev/null",
    ...sshArgs(options),
    params.verbose ? "-v" : "-q",
    ...(params.recursive ? ["-r"] : []),
    ...(single ? ["-P", String(single.port)] : []),
    "-3",
    "--",
    ...operands,
  ];
}

export type CopyBackend = "scp" | "rsync";

export interface CopyBackendFacts {
  /** How many operands are guest paths: rsync copies between the host and one remote side only. */
  guestPaths: number;
  hostHasRsync: boolean;
  /** Whether every guest named has rsync; only asked (and only meaningful) when rsync is still possible. */
  guestsHaveRsync: boolean;
}

/**
 * Lima's choice: `scp` as asked; `rsync` as asked, or an error saying why it cannot work; `auto` is rsync when
 * only one side is a guest and the host and that guest both have it, else scp.
 */
export function chooseCopyBackend(requested: RequestedCopyBackend, facts: CopyBackendFacts): CopyBackend {
  if (requested === "scp") return "scp";
  const possible = facts.guestPaths < 2 && facts.hostHasRsync && facts.guestsHaveRsync;
  if (requested === "auto") return possible ? "rsync" : "scp";
  if (facts.guestPaths >= 2) {
    throw new DenError("USAGE", "Cannot copy with rsync between two guest paths: rsync copies between the host and one guest", { hint: "use --backend scp (or auto)" });
  }
  if (!facts.hostHasRsync) throw new DenError("HOST_TOOL_MISSING", "Cannot copy with rsync: rsync is not installed on the host", { hint: "install rsync, or use --backend scp" });
  if (!facts.guestsHaveRsync) throw new DenError("HOST_TOOL_MISSING", "Cannot copy with rsync: rsync is not installed in the guest", { hint: "install rsync in the guest, or use --backend scp" });
  return "rsync";
}

/** Whether choosing a backend depends on the guest having rsync, i.e. whether asking the guest is worth an ssh. */
export function needsGuestRsyncCheck(requested: RequestedCopyBackend, facts: Omit<CopyBackendFacts, "guestsHaveRsync">): boolean {
  return requested !== "scp" && facts.guestPaths < 2 && facts.hostHasRsync;
}

export interface RsyncParams {
  /** The one instance named in the paths. */
  guest: CopyGuest;
  recursive: boolean;
  verbose: boolean;
  /** The ssh program and its own leading arguments (`$SSH`); `["ssh"]` by default. */
  ssh?: readonly string[] | undefined;
  rsync?: string | undefined;
}

/**
 * The rsync argv as Lima's rsync backend builds it: `-a`, `-v --progress` or `-q`, `-r`, and `-e` with the ssh
 * command (den's options for the guest, so the shared connection is reused). With `-r`, trailing slashes are
 * adjusted so that a folder lands where scp -r would put it (rsyncRecursivePaths).
 */
export function rsyncArgv(paths: readonly CopyPath[], params: RsyncParams): string[] {
  const options = params.guest.options.filter(([key]) => key !== "Hostname" && key !== "Port");
  const ssh = [...(params.ssh ?? ["ssh"]), "-F", "/dev/null", ...sshArgs(options), "-p", String(params.guest.port)];
  const adjusted = params.recursive ? rsyncRecursivePaths(paths) : paths;
  return [
    params.rsync ?? "rsync",
    "-a",
    ...(params.verbose ? ["-v", "--progress"] : ["-q"]),
    ...(params.recursive ? ["-r"] : []),
    "-e",
    shellJoin(ssh),
    ...adjusted.map((path) => (path.kind === "host" ? scpHostOperand(path.path) : `${params.guest.user}@${SshAddress}:${path.path}`)),
  ];
}

/**
 * rsync copies a folder's contents when its source ends in `/`; scp -r copies the folder itself. As Lima: a path
 * without a trailing slash gains one, a host path with one loses it, and a guest path with one makes every other
 * path lose theirs, each in order, so `den cp -r ./dir vm:/tmp/` creates /tmp/dir as scp -r does.
 */
export function rsyncRecursivePaths(paths: readonly CopyPath[]): CopyPath[] {
  const out = paths.map((path) => ({ ...path }));
  for (const [index, path] of out.entries()) {
    if (!path.path.endsWith("/")) path.path += "/";
    else if (path.kind === "host") path.path = path.path.replace(/\/$/, "");
    else for (const [other, each] of out.entries()) if (other !== index) each.path = each.path.replace(/\/$/, "");
  }
  return out;
}

/** What `den copy` does (declared in copy-command.ts). */
export async function runCopy(args: string[], options: CopyOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  if (args.length < 2) throw new DenError("USAGE", "Cannot copy: give at least one SOURCE and a TARGET", { hint: "den copy ./file default:/tmp/" });
  const paths = args.map(parseCopyPath);
  // Names first, every one of them ("" from ":/etc/hostname" too), before anything is read or run.
  for (const path of paths) if (path.kind === "guest") checkInstanceName(path.instance);
  if (!paths.some((path) => path.kind === "guest")) {
    throw new DenError("USAGE", "Cannot copy: no path names an instance", {
      hint: 'write guest paths as INSTANCE:PATH, e.g. "den copy ./notes.txt default:/tmp/"; a host path with a colon needs a "/" before it',
    });
  }
  const ssh = sshCommand(ctx.env);
  const guests = new Map<string, CopyGuest>();
  for (const path of paths) {
    if (path.kind !== "guest" || guests.has(path.instance)) continue;
    const info = await runningInstance(ctx, path.instance);
    const config = await loadInstanceConfig(ctx.denHome, path.instance);
    guests.set(path.instance, {
      user: config.user.name ?? "",
      port: info.sshLocalPort ?? 0,
      options: await instanceSshOptions(ctx, info, config, ssh),
    });
  }
  await checkHostOperands(paths, ctx.cwd);
  const recursive = Boolean(options.recursive);
  const verbose = Boolean(options.verbose);
  const facts = { guestPaths: paths.filter((path) => path.kind === "guest").length, hostHasRsync: Bun.which("rsync") !== null };
  const [onlyGuest] = guests.values();
  const guestsHaveRsync = needsGuestRsyncCheck(options.backend, facts) && onlyGuest !== undefined && (await guestHasRsync(onlyGuest, ssh));
  const backend = chooseCopyBackend(options.backend, { ...facts, guestsHaveRsync });
  const argv =
    backend === "rsync" && onlyGuest !== undefined
      ? rsyncArgv(paths, { guest: onlyGuest, recursive, verbose, ssh })
      : scpArgv(paths, { guests, recursive, verbose, opensshVersion: await opensshVersion(ssh) });
  ctx.logger.debug(`Running ${backend}`, { argv });
  const code = await runInherited(argv, backend === "rsync" ? { hint: "install rsync, or use --backend scp" } : {});
  if (code !== 0) throw new ExitError(code);
}

/**
 * Host sources must exist and the target's folder too: den says so with a hint rather than leaving it to scp, whose
 * `cp: cannot stat` comes with no word from den.
 */
async function checkHostOperands(paths: readonly CopyPath[], cwd: string): Promise<void> {
  const check = async (path: string, what: string) => {
    try {
      await stat(path);
    } catch (error) {
      const described = describeSystemError(error, { path });
      throw new DenError("IO", `Cannot copy ${what} "${excerptPath(path)}": ${described === undefined ? "it cannot be read" : `${described.reason} (${described.code})`}`, {
        hint: described?.code === "ENOENT" ? "check the path; write a guest path as INSTANCE:PATH, e.g. default:/tmp/notes.txt" : (described?.hint ?? "check the path"),
        cause: error,
      });
    }
  };
  for (const [index, path] of paths.entries()) {
    if (path.kind !== "host") continue;
    const absolute = resolve(cwd, path.path);
    if (index < paths.length - 1) await check(absolute, "from");
    else await check(dirname(absolute), "into the folder");
  }
}

/** Time the guest has to say whether it has rsync; a guest that takes longer gets scp. */
const GuestRsyncCheckMs = 30_000;

/**
 * `command -v rsync` in the guest over ssh. Its output is not piped: ssh may leave a shared connection in the
 * background (ControlPersist) holding whatever it was given, and the answer is the exit code alone.
 */
async function guestHasRsync(guest: CopyGuest, ssh: readonly string[]): Promise<boolean> {
  const options = guest.options.filter(([key]) => key !== "Hostname" && key !== "Port");
  let child: ReturnType<typeof Bun.spawn>;
  try {
    child = Bun.spawn([...ssh, "-F", "/dev/null", ...sshArgs(options), "-p", String(guest.port), SshAddress, "--", "command -v rsync >/dev/null 2>&1"], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
  } catch {
    return false;
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), GuestRsyncCheckMs);
  const code = await child.exited;
  clearTimeout(timer);
  return code === 0;
}
