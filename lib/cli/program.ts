// The command tree. Each command lives in its own file; this file only lists them.
import { Command, Option } from "@commander-js/extra-typings";
import { versionLine } from "../version.ts";
import { createCompletionCommand } from "./completion.ts";
import { ContainerClients, createContainerClientCommand } from "./container-clients.ts";
import { createCopyCommand } from "./copy.ts";
import { createCreateCommand } from "./create.ts";
import { createDeleteCommand } from "./delete.ts";
import { createHelpCommand } from "./help.ts";
import { createInfoCommand } from "./info.ts";
import { createListCommand } from "./list.ts";
import { createPauseCommand, createResumeCommand } from "./pause.ts";
import { createPortsCommand } from "./ports.ts";
import { createProtectCommand, createUnprotectCommand } from "./protect.ts";
import { createPruneCommand } from "./prune.ts";
import { createShellCommand } from "./shell.ts";
import { createHostAgentCommand, createRestartCommand, createStartCommand } from "./start.ts";
import { createStopCommand } from "./stop.ts";
import { createTemplateCommand } from "./template.ts";
import { createValidateCommand } from "./validate.ts";

export function buildProgram(): Command {
  const program = new Command("den")
    .description("A Linux virtual machine that feels local (Lima-compatible)")
    .version(versionLine(), "-v, --version", "print the version and the commit den was built from");
  addGlobalOptions(program, { logFormatHelp: "log format (default: text)" });
  program
    .showHelpAfterError("(run with --help for usage)")
    // den's own flags go before the command; after it they belong to the command (`den shell vm ls -v`).
    .enablePositionalOptions()
    .configureOutput({ outputError: (text, write) => write(text) });

  program.commandsGroup("Basic commands:");
  program.addCommand(createCreateCommand());
  program.addCommand(createStartCommand());
  program.addCommand(createRestartCommand());
  program.addCommand(createListCommand());
  program.addCommand(createStopCommand());
  program.addCommand(createShellCommand());
  program.addCommand(createDeleteCommand());

  program.commandsGroup("Container commands:");
  for (const client of ContainerClients) program.addCommand(createContainerClientCommand(client));

  program.commandsGroup("Advanced commands:");
  program.addCommand(createValidateCommand());
  program.addCommand(createTemplateCommand());
  program.addCommand(createInfoCommand());
  program.addCommand(createCopyCommand());
  program.addCommand(createPortsCommand());
  program.addCommand(createProtectCommand());
  program.addCommand(createUnprotectCommand());
  program.addCommand(createPauseCommand());
  program.addCommand(createResumeCommand());
  program.addCommand(createPruneCommand());
  program.addCommand(createCompletionCommand(() => program));
  // Replaces commander's implicit help command, which answers `den help nope` with the usage and no error line.
  program.addCommand(createHelpCommand(() => program as unknown as Command));
  program.addCommand(createHostAgentCommand(), { hidden: true });
  for (const command of program.commands) acceptGlobalOptions(command as unknown as Command);
  return program as unknown as Command;
}

/** Commands whose words (after `den shell`'s instance name, after a client's `--instance`) belong to another program. */
const PassThroughCommands: ReadonlySet<string> = new Set(["shell", ...ContainerClients]);

/**
 * Lets den's own flags also follow a command (`den list --debug`), as Lima's do. `den shell` and the container
 * clients are the exception: what follows belongs to the guest command or the client. Neither copy has a default:
 * optsWithGlobals() lets an ancestor's value win, so a default on the program would hide the flag given after the
 * command.
 */
function acceptGlobalOptions(command: Command): void {
  if (PassThroughCommands.has(command.name())) return;
  addGlobalOptions(command, { logFormatHelp: "log format" });
  for (const sub of command.commands) acceptGlobalOptions(sub as Command);
}

/** den's own flags, on the program and again on each command. */
function addGlobalOptions(command: Command, options: { logFormatHelp: string }): void {
  command
    .option("--debug", "debug logging and stack traces on errors")
    .addOption(new Option("--log-format <format>", options.logFormatHelp).choices(["text", "json"]))
    .option("-y, --yes", "never ask: answer prompts with their defaults (same as --tty=false)")
    .option("--tty", "allow prompts, editors and redrawn progress bars (default: when stdout is a terminal)")
    .option("--no-tty", "no prompts, editors or redrawn progress bars, for scripts (Lima's --tty=false)");
}

/**
 * Lima's scripts say `--tty=false` / `--tty=true`; commander's boolean flags take no value, so those spellings become
 * `--no-tty` / `--tty` before parsing. Words after `--` and after a pass-through command (`den shell`, `den docker`…)
 * are the guest's or the client's (`docker run --tty=false`) and stay as they are. Only the first word that names a
 * den command is the command: in `den start docker --tty=false`, `docker` is an instance.
 */
export function normalizeTtyFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let passThrough = false;
  let sawCommand = false;
  for (const word of argv) {
    if (word === "--" || passThrough) {
      passThrough = true;
      out.push(word);
      continue;
    }
    const match = /^--tty=(true|false|1|0)$/i.exec(word);
    out.push(match ? (/^(true|1)$/i.test(match[1]!) ? "--tty" : "--no-tty") : word);
    if (!sawCommand && commandNames().has(word)) {
      sawCommand = true;
      passThrough = PassThroughCommands.has(word);
    }
  }
  return out;
}

let knownCommands: ReadonlySet<string> | undefined;

/** The top-level command names and aliases, read from the tree itself so that a new command is known at once. */
function commandNames(): ReadonlySet<string> {
  knownCommands ??= new Set(buildProgram().commands.flatMap((command) => [command.name(), ...command.aliases()]));
  return knownCommands;
}
