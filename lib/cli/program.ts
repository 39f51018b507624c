// The command tree. Each command is declared in its own *-command.ts file, which imports nothing but commander and a
// few constants; what a command does is loaded (await import) only when it runs, so `den --version`, `den --help` and
// completion never load the configuration, zod schemas or the host agent, and `den list` loads only what it needs.
import { Command, Option } from "@commander-js/extra-typings";
import { versionLine } from "../version.ts";
import { writeStdout } from "./write-stdout.ts";
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
  /**
   * The word that names the command of this run (commandWord()): when it names one, only that command is built, since
   * a run never reads its siblings. Help, completion, a word that names no command and no word at all get the whole
   * tree, so that what commander prints (help, "unknown command", its suggestion) is the same either way.
   */
  command?: string | undefined;
}

/** One top-level command: its name and aliases, known without building it (a test checks them against the command). */
interface CommandEntry {
  names: readonly string[];
  create: () => Command;
  hidden?: boolean;
  /** It describes the whole tree (help, completion), so it is never built alone. */
  wholeTree?: boolean;
}

/** Every top-level command, in the order and help groups of `den --help`. `described` is the whole tree, for help. */
function commandGroups(described: () => Command): { title: string; entries: CommandEntry[] }[] {
  const entry = (names: readonly string[], create: () => unknown, more: Partial<CommandEntry> = {}): CommandEntry => ({ names, create: create as () => Command, ...more });
  return [
    {
      title: "Basic commands:",
      entries: [
        entry(["create"], createCreateCommand),
        entry(["start"], createStartCommand),
        entry(["restart"], createRestartCommand),
        entry(["list", "ls"], createListCommand),
        entry(["stop"], createStopCommand),
        entry(["shell"], createShellCommand),
        entry(["delete", "remove", "rm"], createDeleteCommand),
      ],
    },
    { title: "Container commands:", entries: ContainerClients.map((client) => entry([client], () => createContainerClientCommand(client))) },
    {
      title: "Advanced commands:",
      entries: [
        entry(["validate"], createValidateCommand),
        entry(["template", "tmpl"], createTemplateCommand),
        entry(["info"], createInfoCommand),
        entry(["copy", "cp"], createCopyCommand),
        entry(["ports"], createPortsCommand),
        entry(["protect"], createProtectCommand),
        entry(["unprotect"], createUnprotectCommand),
        entry(["pause"], createPauseCommand),
        entry(["resume"], createResumeCommand),
        entry(["prune"], createPruneCommand),
        entry(["show-ssh"], createShowSshCommand),
        entry(["tunnel"], createTunnelCommand),
        entry(["start-at-login"], createStartAtLoginCommand),
        entry(["yq"], createYqCommand),
        entry(["snapshot"], createSnapshotCommand),
        entry(["watch"], createWatchCommand),
        entry(["edit"], createEditCommand),
        entry(["clone"], createCloneCommand),
        entry(["rename"], createRenameCommand),
        entry(["factory-reset"], createFactoryResetCommand),
        entry(["disk"], createDiskCommand),
        entry(["completion"], () => createCompletionCommand(described), { wholeTree: true }),
        // Replaces commander's implicit help command, which answers `den help nope` with the usage and no error line.
        entry(["help"], () => createHelpCommand(described), { wholeTree: true }),
        entry(["hostagent"], createHostAgentCommand, { hidden: true }),
      ],
    },
  ];
}

/** The top-level command names and aliases, known without building a command. */
export const CommandNames: ReadonlySet<string> = new Set(commandGroups(namesOnly).flatMap((group) => group.entries.flatMap((entry) => entry.names)));

function namesOnly(): never {
  throw new Error("the command list was read for its names only");
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
    .configureOutput({ writeOut: writeStdout, outputError: (text, write) => write(text) });

  const described = () => withGlobalOptions(program as unknown as Command);
  const groups = commandGroups(described);
  const alone = groups.flatMap((group) => group.entries).find((entry) => options.command !== undefined && entry.names.includes(options.command));
  if (alone !== undefined && !alone.wholeTree) {
    program.addCommand(alone.create(), { hidden: alone.hidden === true });
  } else {
    for (const group of groups) {
      program.commandsGroup(group.title);
      for (const entry of group.entries) program.addCommand(entry.create(), { hidden: entry.hidden === true });
    }
  }
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
    if (!sawCommand && CommandNames.has(word)) {
      sawCommand = true;
      passThrough = PassThroughCommands.has(word);
    }
  }
  return out;
}
