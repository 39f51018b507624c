// `den help [command]`: commander's own help command prints the usage and exits 1 for a name it does not know,
// with no `error:` line; den's says which command is unknown and where the list is, like every other den error.
import { Command } from "@commander-js/extra-typings";
import { DenError, excerpt } from "../errors.ts";

/** `program` is asked for lazily: the help command is part of the program it describes. */
export function createHelpCommand(program: () => Command) {
  return new Command("help")
    .summary("show help for den or one of its commands")
    .argument("[command]", "a den command, e.g. create")
    .action((name) => {
      const root = program();
      if (name === undefined) {
        root.outputHelp();
        return;
      }
      const command = root.commands.find((candidate) => candidate.name() === name || candidate.aliases().includes(name));
      if (command === undefined) {
        throw new DenError("USAGE", `Unknown command "${excerpt(name, 40)}"`, { hint: 'run "den --help" to see the commands' });
      }
      command.outputHelp();
    });
}
