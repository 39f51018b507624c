// What `den shell [--workdir DIR] [--shell SHELL] [--reconnect] [--preserve-env] [--start] [NAME] [COMMAND…]` does
// (or `den shell --instance NAME [COMMAND…]`): the system `ssh` into a running instance, its exit code passed through. As Lima's, options end at the instance name so `den shell vm ls -la`
// hands `-la` to `ls`; commander would intersperse them, so this command reads its own arguments.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { realpath, rm } from "node:fs/promises";
import { constants, homedir } from "node:os";
import { join } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import type { FilledDenYaml } from "../config/schema.ts";
import { DenError, ExitError, excerpt } from "../errors.ts";
import { hostHasAesNi } from "../ssh/host-aes-ni.ts";
import { preservedEnv } from "../shell/preserved-env.ts";
import { opensshVersion } from "../ssh/openssh-version.ts";
import { shellScript, shellSshArgs } from "../ssh/shell-command.ts";
import { SshAddress, type SshOption, sshArgs, sshOptions } from "../ssh/ssh-options.ts";
import { ConfigDir, SshSock, UserPrivateKey } from "../store/filenames.ts";
import { inspectInstance } from "../status/inspect.ts";
import type { InstanceInfo } from "../status/instance-info.ts";
import { DefaultInstanceName, existingInstanceDir } from "../store/instance-name.ts";
import { type CliContext, contextFrom } from "./context.ts";
import { startFromCli } from "./start-options.ts";

export interface ShellArgs {
  name: string;
  command: string[];
  workdir?: string | undefined;
  shell?: string | undefined;
  reconnect: boolean;
  /** Pass the host's environment (preserved-env.ts). */
  preserveEnv: boolean;
  /** Start the instance first when it is stopped. */
  start: boolean;
  help: boolean;
}

const Usage = `Usage: den shell [options] [NAME] [COMMAND...]

Open a shell in a running instance (default: default), or run COMMAND there.
Options end at NAME: everything after it belongs to COMMAND.

Options:
  --workdir <dir>  guest folder to start in (default: the host folder when a mount shows it, else home)
  --shell <shell>  shell to run (default: user.shell, else the guest user's login shell)
  --reconnect      close the shared SSH connection and open a new one
  --preserve-env   pass the host's environment variables, except HOME, PATH, SSH_*, XDG_* and the like
                   (DEN_SHELLENV_BLOCK replaces that list, "+" first adds to it; DEN_SHELLENV_ALLOW passes only those)
  --start          start the instance first when it is stopped
  --instance <name>  the instance; then every word after the options is COMMAND
  -h, --help       display help for command
`;

/** Splits the words after `shell`: options up to NAME (or `--`), then NAME, then COMMAND (a `--` right after NAME is dropped). */
export function parseShellArgs(words: readonly string[]): ShellArgs {
  const parsed: ShellArgs = { name: DefaultInstanceName, command: [], reconnect: false, preserveEnv: false, start: false, help: false };
  let instanceFlag: string | undefined;
  let i = 0;
  const value = (option: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const next = words[++i];
    if (next === undefined) throw new DenError("USAGE", `Cannot parse "${excerpt(option)}": it needs a value`, { hint: "den shell --help" });
    return next;
  };
  for (; i < words.length; i++) {
    const word = words[i] as string;
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-") || word === "-") break;
    const eq = word.indexOf("=");
    const option = word.startsWith("--") && eq > 0 ? word.slice(0, eq) : word;
    const inline = option === word ? undefined : word.slice(eq + 1);
    if (option === "--workdir") parsed.workdir = value(option, inline);
    else if (option === "--shell") parsed.shell = value(option, inline);
    else if (option === "--instance") instanceFlag = value(option, inline);
    else if (option === "--reconnect" && inline === undefined) parsed.reconnect = true;
    else if (option === "--preserve-env" && inline === undefined) parsed.preserveEnv = true;
    else if (option === "--start" && inline === undefined) parsed.start = true;
    else if ((option === "-h" || option === "--help") && inline === undefined) parsed.help = true;
    else throw new DenError("USAGE", `Cannot use option "${excerpt(word)}" with den shell: unknown option`, { hint: "options go before the instance name; see den shell --help" });
  }
  if (instanceFlag !== undefined) {
    // As Lima's hidden --instance (what the `lima` wrapper passes): no positional name, all of it is COMMAND.
    parsed.name = instanceFlag;
    parsed.command = words.slice(i);
    return parsed;
  }
  const name = words[i];
  if (name !== undefined) {
    parsed.name = name;
    const rest = words.slice(i + 1);
    parsed.command = rest[0] === "--" ? rest.slice(1) : rest;
  }
  return parsed;
}

/** What `den shell` does (declared in shell-command.ts). */
export async function runShell(instance: string | undefined, command: string[], self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const args = parseShellArgs(ownWords(self) ?? [...(instance === undefined ? [] : [instance]), ...command]);
  if (args.help) {
    ctx.stdout(Usage);
    return;
  }
  if (args.start) await startIfStopped(ctx, args.name);
  const info = await runningInstance(ctx, args.name);
  const config = await loadInstanceConfig(ctx.denHome, args.name);
  const ssh = sshCommand(ctx.env);
  const options = await instanceSshOptions(ctx, info, config, ssh);
  if (args.reconnect) await closeMaster(ssh, options, info);
  const hostHome = ctx.env.HOME || homedir();
  const script = shellScript({
    workdir: args.workdir,
    hostCwd: await realpath(ctx.cwd).catch(() => ctx.cwd),
    hostHome,
    mounts: config.mounts,
    shell: args.shell,
    userShell: config.user.shell ?? undefined,
    command: args.command,
    env: args.preserveEnv ? preservedEnv(ctx.env) : undefined,
  });
  const argv = shellSshArgs(options, {
    port: info.sshLocalPort ?? 0,
    script,
    interactive: Boolean(process.stdout.isTTY),
    colorterm: Boolean(ctx.env.COLORTERM),
    ssh,
  });
  ctx.logger.debug("Running ssh", { argv });
  const code = await runInherited(argv);
  if (code !== 0) throw new ExitError(code);
}

/** The words after `shell` as typed: commander drops `--` and takes den's global flags (`--debug`) out of them. */
export function ownWords(command: CommandUnknownOpts): string[] | undefined {
  let root: CommandUnknownOpts = command;
  while (root.parent) root = root.parent;
  const raw = (root as unknown as { rawArgs?: string[] }).rawArgs;
  if (!raw) return undefined;
  const at = raw.indexOf(command.name(), 2);
  return at < 0 ? undefined : raw.slice(at + 1);
}

/** The instance's info, when it is Running; otherwise an error saying what to do. */
export async function runningInstance(ctx: CliContext, name: string): Promise<InstanceInfo> {
  await existingInstanceDir(ctx.denHome, name, { hint: `create it with den create --name ${name}, or see den list` });
  const info = await inspectInstance(ctx.denHome, name, { logger: ctx.logger });
  if (info.status !== "Running") {
    throw new DenError("INSTANCE_STATE", `Cannot connect to instance "${name}": it is ${info.status}, not Running`, {
      hint:
        info.status === "Paused"
          ? `resume it: den resume ${name}`
          : info.status === "Broken"
            ? `recover it: den stop -f ${name}, then den start ${name}`
            : `start it: den start ${name} (den shell --start starts it first)`,
    });
  }
  return info;
}

/** `--start`: the instance started (as `den start NAME` would) when it is Stopped; any other state is left to runningInstance. */
async function startIfStopped(ctx: CliContext, name: string): Promise<void> {
  await existingInstanceDir(ctx.denHome, name, { hint: `create it with den create --name ${name}, or see den list` });
  const info = await inspectInstance(ctx.denHome, name, { logger: ctx.logger });
  if (info.status !== "Stopped") return;
  // Progress goes to stderr: stdout belongs to the guest command (`den shell --start vm cat f > f.copy`).
  await startFromCli(ctx, name, { stdout: (text) => ctx.logger.info(text.trimEnd()) });
}


/** The OpenSSH options for this instance, as Lima picks them for `limactl shell` and `ssh.config`. */
export async function instanceSshOptions(ctx: CliContext, info: InstanceInfo, config: FilledDenYaml, ssh: readonly string[]): Promise<SshOption[]> {
  return sshOptions({
    identityFile: join(ctx.denHome, ConfigDir, UserPrivateKey),
    user: config.user.name ?? "",
    controlPath: join(info.dir, SshSock),
    port: info.sshLocalPort ?? 0,
    opensshVersion: await opensshVersion(ssh),
    hostHasAesNi: await hostHasAesNi(),
    forwardAgent: config.ssh.forwardAgent ?? false,
  });
}

/** `$SSH` split into words (e.g. `ssh -v`), else `ssh`. */
export function sshCommand(env: Readonly<Record<string, string | undefined>>): string[] {
  const words = (env.SSH ?? "").trim().split(/\s+/).filter((word) => word !== "");
  return words.length > 0 ? words : ["ssh"];
}

export interface RunInheritedOptions {
  /** The whole environment of the program; den's own by default. */
  env?: Record<string, string | undefined> | undefined;
  /** What to do when the program cannot be started; by default about OpenSSH, which most callers run. */
  hint?: string | undefined;
}

/** Runs argv with the terminal attached; the exit code, or 128 + the signal number as a shell reports it. */
export async function runInherited(argv: readonly string[], options: RunInheritedOptions = {}): Promise<number> {
  let child: ReturnType<typeof Bun.spawn>;
  try {
    child = Bun.spawn([...argv], { stdin: "inherit", stdout: "inherit", stderr: "inherit", ...(options.env === undefined ? {} : { env: options.env }) });
  } catch (error) {
    throw new DenError("IO", `Cannot run "${argv[0]}": ${(error as Error).message}`, { cause: error, hint: options.hint ?? "install OpenSSH's client (ssh, scp) or set SSH" });
  }
  const code = await child.exited;
  if (child.signalCode) return 128 + (constants.signals[child.signalCode as keyof typeof constants.signals] ?? 0);
  return code;
}

async function closeMaster(ssh: readonly string[], options: readonly SshOption[], info: InstanceInfo): Promise<void> {
  const controlOnly = options.filter(([key]) => key === "ControlPath" || key === "User");
  const exit = Bun.spawn([...ssh, "-F", "/dev/null", ...sshArgs(controlOnly), "-O", "exit", "-p", String(info.sshLocalPort ?? 0), SshAddress], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
  });
  await exit.exited;
  // A master that died left its socket behind; the next ssh must not try it.
  await rm(join(info.dir, SshSock), { force: true });
}
