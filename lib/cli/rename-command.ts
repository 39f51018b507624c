// The declaration of `den rename OLD NEW [edit flags] [--start]`; what it does is in rename.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";
import { addEditOptions } from "./edit-options.ts";

function declareRename() {
  return new Command("rename")
    .summary("rename a stopped instance")
    .description("Rename stopped instance OLD to NEW, with the edit flags applied to its den.yaml. Its guest's hostname follows the name at the next start.")
    .argument("<instance>", "instance to rename")
    .argument("<new-name>", "the new name")
    .option("--start", "start the instance after renaming it");
}

/** The typed options; the edit flags are read with editFlagsFrom(). */
export type RenameOptions = ReturnType<ReturnType<typeof declareRename>["opts"]>;

export function createRenameCommand() {
  const command = declareRename();
  addEditOptions(command);
  command.action(async (from, to, options, self) => (await import("./rename.ts")).runRename(from, to, options, self));
  return command;
}
