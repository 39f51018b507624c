// The declaration of `den create [TEMPLATE] [--name NAME] [edit flags]`; what it does is in create.ts, loaded when
// it runs.
import { Command } from "@commander-js/extra-typings";
import { addEditOptions } from "./edit-options.ts";

export const DefaultTemplateLocator = "template:default";

function declareCreate() {
  return new Command("create")
    .summary("create an instance from a template (no boot yet)")
    .description(
      "Create the instance folder $DEN_HOME/NAME from a template.\n" +
        'TEMPLATE is "template:NAME", a path, a file:// or http(s):// URL, or "-" for stdin (default: template:default).',
    )
    .argument("[template]", "template locator", DefaultTemplateLocator)
    .option("--name <name>", "instance name (default: from the template's file name)");
}

/** The typed options; the edit flags are read with editFlagsFrom(). */
export type CreateOptions = ReturnType<ReturnType<typeof declareCreate>["opts"]>;

export function createCreateCommand() {
  const command = declareCreate();
  addEditOptions(command);
  command.action(async (locator, options, self) => (await import("./create.ts")).runCreate(locator, options, self));
  return command;
}
