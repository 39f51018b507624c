// The command tree. Each command lives in its own file; this file only lists them.
import { Command, Option } from "@commander-js/extra-typings";
import { versionLine } from "../version.ts";
import { createCompletionCommand } from "./completion.ts";
import { createCreateCommand } from "./create.ts";
import { createInfoCommand } from "./info.ts";
import { createListCommand } from "./list.ts";
import { createTemplateCommand } from "./template.ts";
import { createValidateCommand } from "./validate.ts";

export function buildProgram(): Command {
  const program = new Command("den")
    .description("A Linux virtual machine that feels local (Lima-compatible)")
    .version(versionLine(), "-v, --version", "print the version and the commit den was built from")
    .option("--debug", "debug logging and stack traces on errors")
    .addOption(new Option("--log-format <format>", "log format").choices(["text", "json"]).default("text"))
    .option("-y, --yes", "never ask: answer prompts with their defaults (same as --tty=false)")
    .option("--tty", "allow prompts and editors (default: when stdout is a terminal)")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (text, write) => write(text) });

  program.commandsGroup("Basic commands:");
  program.addCommand(createCreateCommand());
  program.addCommand(createListCommand());

  program.commandsGroup("Advanced commands:");
  program.addCommand(createValidateCommand());
  program.addCommand(createTemplateCommand());
  program.addCommand(createInfoCommand());
  program.addCommand(createCompletionCommand(() => program));
  return program as unknown as Command;
}
