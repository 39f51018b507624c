// The declaration of `den template list|show|copy|validate|yq|url` (alias `tmpl`); what the subcommands do is in
// template.ts (validate: validate.ts), loaded when one runs.
import { Command } from "@commander-js/extra-typings";
import { validateCommand } from "./validate-command.ts";

function declareList() {
  return new Command("list")
    .alias("ls")
    .summary("list the built-in and user templates")
    .option("--json", "print a JSON array of {name, location}")
    .option("-q, --quiet", "print the names only (what shell completion offers as template:NAME)");
}

function declareCopy() {
  return new Command("copy")
    .summary("copy a template to a file or stdout")
    .description(
      "Copy a template. By default its base: and file: references are made absolute so the copy still finds them;\n" +
        "--embed and --embed-all merge the bases in (den embeds template: bases for both), --fill also fills every default.",
    )
    .argument("<template>", "template locator")
    .argument("[dest]", 'file to write, or "-" for stdout', "-")
    .option("--embed", "merge the base templates and scripts into the copy")
    .option("--embed-all", "same as --embed")
    .option("--fill", "embed everything and fill in every default")
    .option("--verbatim", "copy the text unchanged, relative references included");
}

export type TemplateListOptions = ReturnType<ReturnType<typeof declareList>["opts"]>;
export type TemplateCopyOptions = ReturnType<ReturnType<typeof declareCopy>["opts"]>;

export function createTemplateCommand() {
  const command = new Command("template").alias("tmpl").summary("list, show, copy and query templates");

  command.addCommand(declareList().action(async (options, self) => (await import("./template.ts")).runTemplateList(options, self)));

  command
    .command("show")
    .summary("print a template as it is stored")
    .argument("<template>", 'a template name such as "docker", or any locator')
    .action(async (name, _options, self) => (await import("./template.ts")).runTemplateShow(name, self));

  command.addCommand(declareCopy().action(async (locator, dest, options, self) => (await import("./template.ts")).runTemplateCopy(locator, dest, options, self)));

  command.addCommand(validateCommand("validate"));

  command
    .command("yq")
    .summary("query a template with a yq expression")
    .description("Evaluate EXPR on the template with its bases embedded and every default filled in.\nExample: den template yq template:default '.images[].location'")
    .argument("<template>", "template locator")
    .argument("<expr>", "yq expression")
    .action(async (locator, expr, _options, self) => (await import("./template.ts")).runTemplateYq(locator, expr, self));

  command
    .command("url")
    .summary("print the URL or path a template locator resolves to")
    .description(
      'Print where LOCATOR is read from: template:NAME becomes the file:// URL of the template file (or stays\n' +
        "template:NAME for a template built into den); other locators are printed as they are, as Lima does.\n" +
        "Example: den template url template:docker",
    )
    .argument("<locator>", "template locator")
    .action(async (locator, _options, self) => (await import("./template.ts")).runTemplateUrl(locator, self));

  return command;
}
