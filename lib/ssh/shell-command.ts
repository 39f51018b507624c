// What `den shell` asks the guest to run, and the `ssh` command line that carries it. The script keeps
// the user where they are: the host working directory when a mount makes it visible in the guest.
import { posix } from "node:path";
import { DenError } from "../errors.ts";
import { shellQuote } from "../shell/quote.ts";
import { SshAddress, type SshOption, sshArgs } from "./ssh-options.ts";

/** A mount as the script needs it: host `location` seen at guest `mountPoint` (the same path when unset). */
export interface ShellMount {
  location: string;
  mountPoint?: string | null | undefined;
}

export interface ShellScriptParams {
  /** `--workdir`: a guest folder the shell must start in, or fail. */
  workdir?: string | undefined;
  /** The host's working directory (already resolved through symlinks, as mount locations are). */
  hostCwd: string;
  hostHome: string;
  mounts: readonly ShellMount[];
  /** `--shell`. */
  shell?: string | undefined;
  /** `user.shell` from the configuration; without it the guest user's login shell (`$SHELL`). */
  userShell?: string | undefined;
  /** The command and its arguments; leading `NAME=value` words become assignments, as in a shell. */
  command?: readonly string[] | undefined;
  /** Variables set for the shell through `env`. */
  env?: Readonly<Record<string, string>> | undefined;
}

/**
 * The remote script: `[<cd> ; ]exec [env K=V …] <shell> -l [-c '<command>']`. With `--workdir` a failing
 * `cd` ends the session; otherwise a failing `cd` only leaves the shell in the guest user's home.
 */
export function shellScript(params: ShellScriptParams): string {
  const cd = changeDirCommand(params);
  const shell = params.shell ? shellQuote(params.shell) : params.userShell ? shellQuote(params.userShell) : `"$SHELL"`;
  const envWords = Object.entries(params.env ?? {}).map(([name, value]) => shellQuote(`${checkedName(name)}=${value}`));
  let script = `exec ${envWords.length > 0 ? `env ${envWords.join(" ")} ` : ""}${shell} -l`;
  if (params.command && params.command.length > 0) script += ` -c ${shellQuote(commandLine(params.command))}`;
  return cd ? `${cd} ; ${script}` : script;
}

/** The guest path of a host path through the innermost mount that contains it, or undefined when none does. */
export function guestPathOf(hostPath: string, options: { mounts: readonly ShellMount[]; hostHome: string }): string | undefined {
  const path = posix.normalize(hostPath);
  let best: { length: number; guest: string } | undefined;
  for (const mount of options.mounts) {
    const location = posix.normalize(expandHome(mount.location, options.hostHome)).replace(/(.)\/+$/, "$1");
    if (!posix.isAbsolute(location) || !posix.isAbsolute(path)) continue;
    const relative = posix.relative(location, path);
    if (relative === ".." || relative.startsWith("../") || posix.isAbsolute(relative)) continue;
    if (best && best.length >= location.length) continue;
    const mountPoint = mount.mountPoint ? expandHome(mount.mountPoint, options.hostHome) : location;
    best = { length: location.length, guest: relative === "" ? posix.normalize(mountPoint) : posix.join(mountPoint, relative) };
  }
  return best?.guest;
}

export interface ShellSshParams {
  port: number;
  /** From shellScript(). */
  script: string;
  /** Standard output is a terminal: ask for a remote TTY so the shell shows its prompt. */
  interactive: boolean;
  /** COLORTERM is set on the host: pass it on (the guest's sshd decides whether to accept it). */
  colorterm?: boolean | undefined;
  /** The ssh program and its own leading arguments (`$SSH`, e.g. `["ssh", "-v"]`); `["ssh"]` by default. */
  ssh?: readonly string[] | undefined;
}

/** The whole argv for the system ssh: `ssh -F /dev/null -o … [-t] [-o SendEnv=COLORTERM] -p PORT 127.0.0.1 -- SCRIPT`. */
export function shellSshArgs(options: readonly SshOption[], params: ShellSshParams): string[] {
  return [
    ...(params.ssh ?? ["ssh"]),
    // The user's ~/.ssh/config must not change how den reaches its own guest.
    "-F",
    "/dev/null",
    ...sshArgs(options),
    ...(params.interactive ? ["-t"] : []),
    ...(params.colorterm ? ["-o", "SendEnv=COLORTERM"] : []),
    "-p",
    String(params.port),
    SshAddress,
    "--",
    params.script,
  ];
}

function changeDirCommand(params: ShellScriptParams): string | undefined {
  if (params.workdir) return `cd ${shellQuote(params.workdir)} || exit 1`;
  const where = { mounts: params.mounts, hostHome: params.hostHome };
  const guestCwd = guestPathOf(params.hostCwd, where);
  const guestHome = guestPathOf(params.hostHome, where);
  if (guestCwd !== undefined) {
    // The mount may not be up yet (or the folder gone): the mounted home is the next best place.
    return guestHome !== undefined && guestHome !== guestCwd ? `cd ${shellQuote(guestCwd)} || cd ${shellQuote(guestHome)}` : `cd ${shellQuote(guestCwd)}`;
  }
  return guestHome === undefined ? undefined : `cd ${shellQuote(guestHome)}`;
}

// Leading NAME=value words stay assignments (only the value is quoted), so `den shell x FOO=1 make` works.
function commandLine(command: readonly string[]): string {
  const words: string[] = [];
  let assignments = true;
  for (const word of command) {
    const match = assignments ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word) : null;
    if (match) {
      words.push(`${match[1]}=${shellQuote(match[2] ?? "")}`);
    } else {
      assignments = false;
      words.push(shellQuote(word));
    }
  }
  return words.join(" ");
}

function checkedName(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return name;
  throw new DenError("USAGE", `Cannot pass environment variable "${name}" to the guest: not a valid variable name`, {
    hint: "variable names are letters, digits and underscores, not starting with a digit",
  });
}

function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return posix.join(home, path.slice(2));
  return path;
}
