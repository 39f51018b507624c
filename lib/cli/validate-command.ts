// The declaration of `den validate FILE… [--fill]` (also `den template validate`); what it does is in validate.ts,
// loaded when it runs.
import { Command } from "@commander-js/extra-typings";

export function createValidateCommand() {
  return validateCommand("validate");
}

/** The command under either name; `den template validate` uses the same one. */
export function validateCommand(name: string) {
  return new Command(name)
    .summary("check Lima/den YAML files")
    .description("Check templates the way den create would; every file is checked before den exits.")
    .argument("<files...>", "template locators: paths, URLs, template:NAME")
    .option("--fill", "print each configuration with every default filled in")
    .action(async (files, options, self) => (await import("./validate.ts")).runValidate(files, { fill: Boolean(options.fill) }, self));
}
