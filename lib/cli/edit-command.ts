// The declaration of `den edit [NAME] [edit flags] [--start]`; what it does is in edit.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";
import { DefaultInstanceName } from "../store/instance-name.ts";
import { addEditOptions } from "./edit-options.ts";

function declareEdit() {
  return new Command("edit")
    .summary("edit the configuration of an instance")
    .description(
      "Change den.yaml of instance NAME (default: default) with the edit flags, or, given none, in your text editor ($VISUAL, $EDITOR, else vi). The result is validated before it is saved; a configuration that does not validate is kept in den.yaml.REJECTED and den.yaml stays as it was. A running instance gets the change when it next starts (den restart NAME).",
    )
    .argument("[instance]", "instance name", DefaultInstanceName)
    .option("--start", "start the instance after the edit");
}

/** The typed options; the edit flags are read with editFlagsFrom(). */
export type EditOptions = ReturnType<ReturnType<typeof declareEdit>["opts"]>;

export function createEditCommand() {
  const command = declareEdit();
  addEditOptions(command);
  command.action(async (name, options, self) => (await import("./edit.ts")).runEdit(name, options, self));
  return command;
}
