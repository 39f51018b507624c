// Applying edit flags (`--cpus`, `--set`, …) to an existing instance's den.yaml, as `limactl start/edit NAME --flags`
// do: the new text is checked with the full configuration pipeline before it replaces the old one atomically.
import { rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { editFlagsToYq, type EditFlags } from "../config/edit-flags.ts";
import { loadConfig, readConfigFile } from "../config/load.ts";
import { QuietYamlOptions } from "../config/parse.ts";
import { applyYqToYamlText } from "../config/apply-yq-to-yaml-text.ts";
import { parse } from "yaml";
import { InstanceYaml } from "../store/filenames.ts";
import { existingInstanceDir } from "../store/instance-name.ts";

/** Returns the warnings of the edit (create-only flags are ignored for an existing instance); a no-op without flags. */
export async function editInstance(denHome: string, name: string, flags: EditFlags, ctx: { cwd: string; home?: string }): Promise<string[]> {
  const dir = await existingInstanceDir(denHome, name, { action: "edit" });
  const file = join(dir, InstanceYaml);
  const text = await readConfigFile(file);
  const params = Object.keys((parse(text, QuietYamlOptions) as { param?: Record<string, unknown> } | null)?.param ?? {});
  const { exprs, warnings } = editFlagsToYq(flags, { home: ctx.home ?? homedir(), cwd: ctx.cwd, params, newInstance: false });
  if (exprs.length === 0) return warnings;
  const edited = applyYqToYamlText(text, exprs, { file });
  await loadConfig(edited, { file, instanceName: name, instanceDir: dir, denHome });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, edited, { mode: 0o644 });
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
  return warnings;
}
