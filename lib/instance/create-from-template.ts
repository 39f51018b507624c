// The work behind `den create`: template → embedded YAML → edit flags applied → checked → instance folder.
// Nothing is written unless the final den.yaml passes the same checks `den start` will run.
import { type EditFlags, editFlagsToYq } from "../config/edit-flags.ts";
import type { IncludedFile } from "../config/embed.ts";
import { loadConfig } from "../config/load.ts";
import { loadTemplate, type TemplateContext } from "../config/load-template.ts";
import { parseConfigText } from "../config/parse.ts";
import { type RemoteShare, sharesAfterEdits } from "../config/remote-shares.ts";
import { appendTopLevelKey } from "../config/append-top-level-key.ts";
import { applyYqToYamlText } from "../config/apply-yq-to-yaml-text.ts";
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
  /** Every base template and script file whose content went into den.yaml, for the user to see. */
  included: IncludedFile[];
  /** Host folders den.yaml shares with the guest because a remote template asks for it, for the user to see. */
  shares: RemoteShare[];
}

export async function createFromTemplate(locatorText: string, ctx: TemplateContext, options: CreateFromTemplateOptions = {}): Promise<CreatedInstance> {
  const template = await loadTemplate(locatorText, ctx, { withBaseYaml: true });
  const name = options.name ?? template.suggestedName;
  if (name === undefined) {
    throw new DenError("USAGE", "Cannot create an instance from stdin without a name", { hint: "add --name NAME" });
  }
  validateInstanceName(name, { denHome: ctx.denHome });
  const { exprs, warnings: flagWarnings } = editFlagsToYq(options.flags ?? {}, { home: ctx.home, cwd: ctx.cwd, params: template.params });
  // Warnings from the edit flags first, then what loading the final den.yaml says (e.g. vmType falling back to qemu).
  const warnings = [...flagWarnings];
  const yamlText = exprs.length > 0 ? applyYqToYamlText(template.embeddedText, exprs, { file: template.file }) : template.embeddedText;
  const { dir } = await createInstance(name, {
    denHome: ctx.denHome,
    yamlText,
    check: async (text, where) => {
      // Unedited, the template's own text is checked, so problems point at the user's file and line.
      const located = text === template.embeddedText ? template.located : { text, file: where.file, layer: undefined };
      const filled = await loadConfig(located.text, {
        file: located.file,
        layer: located.layer,
        instanceName: name,
        instanceDir: where.dir,
        denHome: ctx.denHome,
        notice: (line) => warnings.push(line),
        ...(options.isDirectory && { isDirectory: options.isDirectory }),
      });
      // Lima's rule: an instance keeps the vmType it was created with. den resolves an unset vmType from what the
      // host can run (the VZ helper, the macOS version), which may change later, so the choice is written down now.
      // The template's checked layer already holds the parsed text: a template with 40,000 entries costs seconds to parse.
      const written = located.layer?.parsed ?? parseConfigText(text, { file: where.file });
      if (typeof written.value === "object" && written.value !== null && "vmType" in written.value) return undefined;
      return appendTopLevelKey(text, written.document, { key: "vmType", value: filled.vmType }) ?? applyYqToYamlText(text, [`.vmType = "${filled.vmType}"`], { file: where.file });
    },
  });
  // --mount-none removes what the template shares and --mount-writable changes it: report what den.yaml holds.
  const shares = exprs.length > 0 && template.shares.length > 0 ? sharesAfterEdits(template.shares, parseConfigText(yamlText, { file: template.file }).value) : template.shares;
  return { name, dir, warnings: [...template.warnings, ...warnings], included: template.included, shares };
}
