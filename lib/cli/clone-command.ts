// The declaration of `den clone OLD NEW [edit flags] [--start]`; what it does is in clone.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";
import { addEditOptions } from "./edit-options.ts";

function declareClone() {
  return new Command("clone")
    .summary("clone a stopped instance")
    .description(
      "Copy stopped instance OLD to a new instance NEW (copy-on-write where the file system can), with the edit flags applied to the copy's den.yaml. The copy gets its own identity: hostname, MAC address and ssh host keys. Not to be confused with den copy.",
    )
    .argument("<instance>", "instance to clone")
    .argument("<new-name>", "name of the new instance")
    .option("--start", "start the new instance after cloning");
}

/** The typed options; the edit flags are read with editFlagsFrom(). */
export type CloneOptions = ReturnType<ReturnType<typeof declareClone>["opts"]>;

export function createCloneCommand() {
  const command = declareClone();
  addEditOptions(command);
  command.action(async (from, to, options, self) => (await import("./clone.ts")).runClone(from, to, options, self));
  return command;
}
