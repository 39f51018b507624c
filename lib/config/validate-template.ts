// `den validate` / `den template validate`: one template through the whole pipeline an instance goes
// through (bases embedded, DEN_HOME's default.yaml and override.yaml layered, defaults filled, cross-field
// rules), without creating anything.
import { join } from "node:path";
import { DenError, excerptPath } from "../errors.ts";
import { validateInstanceName } from "../store/instance-name.ts";
import { loadConfig } from "./load.ts";
import { loadTemplate, type TemplateContext } from "./load-template.ts";
import type { FilledDenYaml } from "./schema.ts";

export interface ValidateTemplateOptions {
  /** Also merge DEN_HOME/_config/base.yaml under the template, as Lima does for `--fill`. */
  withBaseYaml?: boolean;
  /** Whether a mount location is a folder; read from disk when absent. */
  isDirectory?: (path: string) => boolean;
}

export interface ValidatedTemplate {
  /** The instance name the template would get (from its file name). */
  name: string;
  /** The file name problems are reported against. */
  file: string;
  config: FilledDenYaml;
  warnings: string[];
}

/** Throws a located ConfigError (or DenError) when the template would not make a valid instance. */
export async function validateTemplate(locatorText: string, ctx: TemplateContext, options: ValidateTemplateOptions = {}): Promise<ValidatedTemplate> {
  const template = await loadTemplate(locatorText, ctx, { withBaseYaml: options.withBaseYaml ?? false });
  const name = template.suggestedName;
  if (name === undefined) {
    throw new DenError("USAGE", `Cannot validate "${excerptPath(locatorText)}": no instance name can be derived from it`, {
      hint: "save the template to a file such as my-vm.yaml and validate that",
    });
  }
  validateInstanceName(name, { denHome: ctx.denHome });
  const config = await loadConfig(template.located.text, {
    file: template.located.file,
    instanceName: name,
    instanceDir: join(ctx.denHome, name),
    denHome: ctx.denHome,
    layer: template.located.layer,
    ...(options.isDirectory && { isDirectory: options.isDirectory }),
  });
  return { name, file: template.file, config, warnings: template.warnings };
}
