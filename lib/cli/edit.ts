// What `den edit [NAME] [edit flags] [--start]` does (declared in edit-command.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { join } from "node:path";
import type { EditFlags } from "../config/edit-flags.ts";
import { readConfigFile } from "../config/load.ts";
import { DenError } from "../errors.ts";
import { editInstanceConfig, editorHeader, type EditOutcome } from "../instance/edit.ts";
import { terminalEditor } from "../instance/open-editor.ts";
import { configDir } from "../store/dirs.ts";
import { DefaultYaml, OverrideYaml } from "../store/filenames.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import type { CliContext } from "./context.ts";
import { contextFrom } from "./context.ts";
import type { EditOptions } from "./edit-command.ts";
import { editFlagsFrom } from "./edit-flags-from.ts";
import { startFromCli } from "./start-options.ts";


export async function runEdit(name: string, options: EditOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const flags = editFlagsFrom(options);
  const byFlags = editFlagsGiven(flags);
  await existingInstanceDir(ctx.denHome, name, { action: "edit" });
  if (!byFlags && !ctx.tty) {
    throw new DenError("USAGE", `Cannot edit instance "${name}": no edit flag was given, and without a terminal den opens no editor`, {
      hint: `pass flags such as --cpus 4 or --set '.cpus = 4', or run den --tty edit ${name} to use your editor`,
    });
  }
  const layers = byFlags ? [] : await configLayers(ctx.denHome);
  const outcome = await editInstanceConfig(ctx.denHome, name, {
    flags,
    cwd: ctx.cwd,
    editor: byFlags ? undefined : terminalEditor({ env: ctx.env, which: Bun.which }),
    header: ({ resumed }) => editorHeader(name, { resumed, layers }),
    logger: ctx.logger,
  });
  reportEdit(name, outcome, ctx);
  if (options.start && outcome.result !== "aborted") await startFromCli(ctx, name);
}

/** True when any edit flag was given (a create-only one too: then no editor opens, as for any flag). */
export function editFlagsGiven(flags: EditFlags): boolean {
  return Object.values(flags).some((value) => (Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false));
}

/** The messages for an edit's outcome, as Lima words them where it has words. */
export function editMessages(name: string, outcome: EditOutcome): { info: string[]; warn: string[] } {
  const info: string[] = [];
  if (outcome.result === "aborted") info.push("Aborting: the file was saved empty, nothing changed");
  if (outcome.result === "unchanged") info.push(`Instance "${name}" is unchanged: the configuration is the same`);
  if (outcome.result === "edited") info.push(`Instance "${name}" configuration edited`);
  if (outcome.activeStatus !== undefined) info.push(`Instance "${name}" is ${outcome.activeStatus}: the change applies when it next starts (den restart ${name})`);
  return { info, warn: outcome.warnings };
}


function reportEdit(name: string, outcome: EditOutcome, ctx: CliContext): void {
  const { info, warn } = editMessages(name, outcome);
  for (const line of warn) ctx.logger.warn(line);
  for (const line of info) ctx.logger.info(line);
}

/** DEN_HOME's default.yaml and override.yaml, for the editor's header; absent or unreadable ones are left out. */
async function configLayers(denHome: string): Promise<{ file: string; text: string }[]> {
  const files = [DefaultYaml, OverrideYaml].map((name) => join(configDir(denHome), name));
  const texts = await Promise.all(files.map((file) => readConfigFile(file).catch(() => undefined)));
  return files.flatMap((file, i) => (texts[i] === undefined ? [] : [{ file, text: texts[i] as string }]));
}
