// `den create [TEMPLATE] [--name NAME] [edit flags]`
import { Command } from "@commander-js/extra-typings";
import { createFromTemplate } from "../instance/create-from-template.ts";
import { contextFrom } from "./context.ts";
import { addEditOptions, editFlagsFrom } from "./edit-options.ts";
import { templateContextFrom } from "./template-context.ts";

export const DefaultTemplateLocator = "template:default";

export function createCreateCommand() {
  const command = new Command("create")
    .summary("create an instance from a template (no boot yet)")
    .description(
      "Create the instance folder $DEN_HOME/NAME from a template.\n" +
        'TEMPLATE is "template:NAME", a path, a file:// or http(s):// URL, or "-" for stdin (default: template:default).',
    )
    .argument("[template]", "template locator", DefaultTemplateLocator)
    .option("--name <name>", "instance name (default: from the template's file name)");
  addEditOptions(command);
  command.action(async (locator, options, self) => {
    const ctx = contextFrom(self);
    const created = await createFromTemplate(locator, templateContextFrom(ctx), {
      name: options.name,
      flags: editFlagsFrom(options),
    });
    for (const warning of created.warnings) ctx.logger.warn(warning);
    ctx.logger.info(`Run "den start ${created.name}" to start the instance.`);
  });
  return command;
}
