// The declaration of `den shell [options] [NAME] [COMMAND…]`; what it does (and how it reads its own words) is in
// shell.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";

export function createShellCommand() {
  return new Command("shell")
    .summary("run a shell or a command in an instance")
    .usage("[options] [NAME] [COMMAND...]")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument("[instance]")
    .argument("[command...]")
    .action(async (instance, command, _options, self) => (await import("./shell.ts")).runShell(instance, command, self));
}
