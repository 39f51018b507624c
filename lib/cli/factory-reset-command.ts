// The declaration of `den factory-reset [NAME]`; what it does is in factory-reset.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";
import { DefaultInstanceName } from "../store/instance-name.ts";

export function createFactoryResetCommand() {
  return new Command("factory-reset")
    .summary("reset a stopped instance to its image, keeping its configuration")
    .description(
      "Remove the disk and everything den generated in the folder of stopped instance NAME (default: default), keeping den.yaml: the next den start boots a fresh disk from the cached image. Protected instances are refused.",
    )
    .argument("[instance]", "instance name", DefaultInstanceName)
    .action(async (name, _options, self) => (await import("./factory-reset.ts")).runFactoryReset(name, self));
}
