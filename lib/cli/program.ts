// The command tree. Each command is declared in its own *-command.ts file, which imports nothing but commander and a
// few constants; what a command does is loaded (await import) only when it runs, so `den --version`, `den --help` and
// completion never load the configuration, zod schemas or the host agent, and `den list` loads only what it needs.
import { Command, Option } from "@commander-js/extra-typings";
import { versionLine } from "../version.ts";
import { createCompletionCommand } from "./completion.ts";
import { ContainerClients, createContainerClientCommand } from "./container-client-command.ts";
import { createCopyCommand } from "./copy-command.ts";
import { createCreateCommand } from "./create-command.ts";
import { createDeleteCommand } from "./delete-command.ts";
import { createDiskCommand } from "./disk-command.ts";
import { createEditCommand } from "./edit-command.ts";
import { createCloneCommand } from "./clone-command.ts";
import { createRenameCommand } from "./rename-command.ts";
import { createFactoryResetCommand } from "./factory-reset-command.ts";
import { createHelpCommand } from "./help.ts";
import { createInfoCommand } from "./info-command.ts";
import { createListCommand } from "./list-command.ts";
import { createPauseCommand, createResumeCommand } from "./pause-command.ts";
import { createPortsCommand } from "./ports-command.ts";
import { createProtectCommand, createUnprotectCommand } from "./protect-command.ts";
import { createPruneCommand } from "./prune-command.ts";
import { createShellCommand } from "./shell-command.ts";
import { createShowSshCommand } from "./show-ssh-command.ts";
import { createSnapshotCommand } from "./snapshot-command.ts";
import { createHostAgentCommand, createRestartCommand, createStartCommand } from "./start-command.ts";
import { createStartAtLoginCommand } from "./start-at-login-command.ts";
import { createStopCommand } from "./stop-command.ts";
import { createTemplateCommand } from "./template-command.ts";
import { createTunnelCommand } from "./tunnel-command.ts";
import { createValidateCommand } from "./validate-command.ts";
import { createWatchCommand } from "./watch-command.ts";
import { createYqCommand } from "./yq-command.ts";

export interface BuildProgramOptions {
  /**
   * Give den's own flags to a command only when it is about to run (and to every command before help or completion
   * describes them), instead of to all of them up front: some 130 options that one run never reads. main.ts sets it;
   * what is parsed and printed is the same either way.
   */
  globalOptionsOnDemand?: boolean;
}

export function buildProgram(options: BuildProgramOptions = {}): Command {
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
  program.addCommand(createShowSshCommand());
  program.addCommand(createTunnelCommand());
  program.addCommand(createStartAtLoginCommand());
  program.addCommand(createYqCommand());
  program.addCommand(createSnapshotCommand());
  program.addCommand(createWatchCommand());
  program.addCommand(createEditCommand());
  program.addCommand(createCloneCommand());
  program.addCommand(createRenameCommand());
  program.addCommand(createFactoryResetCommand());
  program.addCommand(createDiskCommand());
  const described = () => withGlobalOptions(program as unknown as Command);
  program.addCommand(createCompletionCommand(described));
  // Replaces commander's implicit help command, which answers `den help nope` with the usage and no error line.
  program.addCommand(createHelpCommand(described));
  program.addCommand(createHostAgentCommand(), { hidden: true });
  if (options.globalOptionsOnDemand) {
    // Before a command parses its words (its own --help included), and before any help text is put together:
    // `den --help` shows which commands take options.
    program.hook("preSubcommand", (_program, command) => acceptGlobalOptions(command as unknown as Command));
    program.on("beforeAllHelp", described);
  } else {
    described();
  }
  return program as unknown as Command;
}

/** `program` with den's own flags on every command, as help and completion show them. */
function withGlobalOptions(program: Command): Command {
  for (const command of program.commands) acceptGlobalOptions(command as unknown as Command);
  return program;
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
  if (PassThroughCommands.has(command.name()) || command.options.some((option) => option.long === "--debug")) return;
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
 * den command is the command: in `den start docker --tty=false`, `docker` is an instance. `program` is the tree already
 * built for this run (so that it is not built twice at every start); by default one is built.
 */
export function normalizeTtyFlags(argv: readonly string[], options: { program?: Command } = {}): string[] {
  const names = options.program ? namesOf(options.program) : commandNames();
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
    if (!sawCommand && names.has(word)) {
      sawCommand = true;
      passThrough = PassThroughCommands.has(word);
    }
  }
  return out;
}

let knownCommands: ReadonlySet<string> | undefined;

/** The top-level command names and aliases, read from the tree itself so that a new command is known at once. */
function commandNames(): ReadonlySet<string> {
  knownCommands ??= namesOf(buildProgram());
  return knownCommands;
}

function namesOf(program: Command): ReadonlySet<string> {
  return new Set(program.commands.flatMap((command) => [command.name(), ...command.aliases()]));
}
