// The work behind `den create`: template → embedded YAML → edit flags applied → checked → instance folder.
// Nothing is written unless the final den.yaml passes the same checks `den start` will run.
import { type EditFlags, editFlagsToYq } from "../config/edit-flags.ts";
import { loadConfig } from "../config/load.ts";
import { loadTemplate, type TemplateContext } from "../config/load-template.ts";
import { applyYqToYamlText } from "../config/yq.ts";
import { DenError } from "../errors.ts";
import { validateInstanceName } from "../store/instance-name.ts";
import { createInstance } from "./create.ts";

export interface CreateFromTemplateOptions {
  /** Instance name; derived from the locator when absent (required for stdin). */
  name?: string | undefined;
  flags?: EditFlags;
  /** Whether a mount location is a folder; read from disk when absent. */
  isDirectory?: (path: string) => boolean;
}

export interface CreatedInstance {
  name: string;
  dir: string;
  warnings: string[];
}

export async function createFromTemplate(locatorText: string, ctx: TemplateContext, options: CreateFromTemplateOptions = {}): Promise<CreatedInstance> {
  const template = await loadTemplate(locatorText, ctx, { withBaseYaml: true });
  const name = options.name ?? template.suggestedName;
  if (name === undefined) {
    throw new DenError("USAGE", "Cannot create an instance from stdin without a name", { hint: "add --name NAME" });
  }
  validateInstanceName(name, { denHome: ctx.denHome });
  const { exprs, warnings } = editFlagsToYq(options.flags ?? {}, { home: ctx.home, cwd: ctx.cwd, params: template.params });
  const yamlText = exprs.length > 0 ? applyYqToYamlText(template.embeddedText, exprs, { file: template.file }) : template.embeddedText;
  const { dir } = await createInstance(name, {
    denHome: ctx.denHome,
    yamlText,
    check: async (text, where) => {
      // Unedited, the template's own text is checked, so problems point at the user's file and line.
      const located = text === template.embeddedText ? template.located : { text, file: where.file };
      await loadConfig(located.text, {
        file: located.file,
        instanceName: name,
        instanceDir: where.dir,
        denHome: ctx.denHome,
        ...(options.isDirectory && { isDirectory: options.isDirectory }),
      });
    },
  });
  return { name, dir, warnings: [...template.warnings, ...warnings] };
}
