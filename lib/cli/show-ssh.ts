// What `den show-ssh` does: den's OpenSSH options for an instance in one of Lima's four formats. The options are
// the ones `den shell` and `ssh.config` use (lib/ssh/ssh-options.ts), so what this prints reaches the guest the same way.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { join } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import { DenError } from "../errors.ts";
import { shellQuote } from "../shell/quote.ts";
import { type SshOption, sshArgs, sshHostAlias } from "../ssh/ssh-options.ts";
import { inspectInstance } from "../status/inspect.ts";
import { SshConfig } from "../store/filenames.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";
import type { ShowSshFormat, ShowSshOptions } from "./show-ssh-command.ts";
import { instanceSshOptions, sshCommand } from "./shell.ts";

/**
 * The options in `format`, ending in a newline. `cmd` and `args` are shell words (each `Key=Value` quoted for a
 * POSIX shell, so the line runs as printed); `options` and `config` keep OpenSSH's own quoting of values.
 */
export function renderShowSsh(format: ShowSshFormat, params: { name: string; options: readonly SshOption[] }): string {
  const pairs = keyValues(params.options);
  const alias = sshHostAlias(params.name);
  const args = pairs.flatMap(([key, value]) => ["-o", shellQuote(`${key}=${value}`)]);
  switch (format) {
    case "cmd":
      return `${["ssh", ...args, alias].join(" ")}\n`;
    case "args":
      return `${args.join(" ")}\n`;
    case "options":
      return pairs.map(([key, value]) => `${key}=${value}\n`).join("");
    case "config":
      return [`Host ${alias}\n`, ...pairs.map(([key, value]) => `  ${key} ${value}\n`)].join("");
  }
}

/** Each option as `[key, value]` with the value quoted as OpenSSH reads it (sshArgs does the quoting). */
function keyValues(options: readonly SshOption[]): [string, string][] {
  const words = sshArgs(options);
  const pairs: [string, string][] = [];
  for (let index = 1; index < words.length; index += 2) {
    const word = words[index] as string;
    const eq = word.indexOf("=");
    pairs.push([word.slice(0, eq), word.slice(eq + 1)]);
  }
  return pairs;
}

/** What `den show-ssh` does (declared in show-ssh-command.ts). */
export async function runShowSsh(name: string, options: ShowSshOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const dir = await existingInstanceDir(ctx.denHome, name, { hint: `create it with den create --name ${name}, or see den list` });
  const info = await inspectInstance(ctx.denHome, name, { logger: ctx.logger });
  if (!info.sshLocalPort) {
    throw new DenError("INSTANCE_STATE", `Cannot show the SSH command of instance "${name}": it is ${info.status} and its SSH port is chosen when it starts`, {
      hint: `start it first: den start ${name}, or fix the port with ssh.localPort in its den.yaml`,
    });
  }
  // Lima calls show-ssh deprecated in favour of the file every start writes; den says the same.
  ctx.logger.warn(`den show-ssh is deprecated in Lima; instead use: ssh -F ${shellQuote(join(dir, SshConfig))} ${sshHostAlias(name)}`);
  const config = await loadInstanceConfig(ctx.denHome, name);
  const sshOptions = await instanceSshOptions(ctx, info, config, sshCommand(ctx.env));
  ctx.stdout(renderShowSsh(options.format, { name, options: sshOptions }));
}
