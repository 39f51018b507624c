// What `den copy|cp [-r] [-v] SOURCE… TARGET` does: the system `scp` between the host and instances; `INSTANCE:PATH` names a
// guest path. scp's exit code is passed through.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import { DenError, describeSystemError, ExitError, excerptPath } from "../errors.ts";
import { opensshVersion } from "../ssh/openssh-version.ts";
import { type OpensshVersion, SshAddress, type SshOption, sshArgs } from "../ssh/ssh-options.ts";
import { checkInstanceName } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";
import type { CopyOptions } from "./copy-command.ts";
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
  const argv = scpArgv(paths, { guests, recursive: Boolean(options.recursive), verbose: Boolean(options.verbose), opensshVersion: await opensshVersion(ssh) });
  ctx.logger.debug("Running scp", { argv });
  const code = await runInherited(argv);
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
