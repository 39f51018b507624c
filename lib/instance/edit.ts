// Changing an existing instance's den.yaml, as `limactl edit` and `limactl start NAME --flags` do: by edit flags
// (`--cpus`, `--set`, …) or, without flags, in the user's text editor. The new text goes through the full configuration
// pipeline before it replaces the old one in one rename. Text that does not validate is kept in den.yaml.REJECTED
// beside the original (which stays as it was), and the next `den edit` reopens it: a typo never costs the user's work.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { applyYqToYamlText } from "../config/apply-yq-to-yaml-text.ts";
import { editFlagsToYq, type EditFlags } from "../config/edit-flags.ts";
import { loadConfig, readConfigFile } from "../config/load.ts";
import { QuietYamlOptions } from "../config/parse.ts";
import type { FilledDenYaml } from "../config/schema.ts";
import { parseSize } from "../config/units.ts";
import { ConfigError, type ConfigIssue, DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Disk, InstanceYaml, InstanceYamlRejected } from "../store/filenames.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import type { ProcessReader } from "../store/pid-file.ts";
import { activeStatus } from "./require-stopped.ts";

export interface EditContext {
  /** Folder relative `--mount` paths are resolved against. */
  cwd: string;
  /** The host home folder `~` expands to; the user's by default. */
  home?: string | undefined;
}

/** What the editor gave back: the saved text, and the failure when it exited with an error. */
export interface EditorResult {
  text: string;
  error?: DenError | undefined;
}

/** Shows `text` to the user in a text editor and returns what they saved. */
export type TextEditor = (text: string, about: { name: string }) => Promise<EditorResult>;

export interface EditRequest extends EditContext {
  flags: EditFlags;
  /** Used when no flag changes anything; without it, no flag means nothing to do. */
  editor?: TextEditor | undefined;
  /** Comment lines put above the text in the editor (editorHeader()); removed again if left as they were. */
  header?: ((about: { resumed: boolean }) => string) | undefined;
  readProcess?: ProcessReader | undefined;
  logger?: Logger | undefined;
}

export interface EditOutcome {
  /** "edited": den.yaml was replaced; "unchanged": the text is the same; "aborted": the editor's file was saved empty. */
  result: "edited" | "unchanged" | "aborted";
  /** Warnings of the flags (create-only flags are ignored for an existing instance). */
  warnings: string[];
  /** The instance's status when a process of it is alive: the change applies when it next starts. */
  activeStatus?: string | undefined;
  /** The text came from an earlier rejected edit (den.yaml.REJECTED) rather than from den.yaml. */
  resumed: boolean;
}

/** Applies the edit flags to an instance's den.yaml; returns their warnings. A no-op without flags (`den start NAME`). */
export async function editInstance(denHome: string, name: string, flags: EditFlags, ctx: EditContext): Promise<string[]> {
  return (await editInstanceConfig(denHome, name, { ...ctx, flags })).warnings;
}

/** Edits instance `name`'s den.yaml by flags, or else in `request.editor`; see EditOutcome. */
export async function editInstanceConfig(denHome: string, name: string, request: EditRequest): Promise<EditOutcome> {
  const dir = await existingInstanceDir(denHome, name, { action: "edit" });
  const file = join(dir, InstanceYaml);
  const rejectedFile = join(dir, InstanceYamlRejected);
  const original = await readConfigFile(file);
  const { text: flagged, warnings } = applyEditFlags(original, request.flags, { ...request, file });
  let edited = flagged;
  let resumed = false;
  if (flagged === undefined) {
    if (!request.editor) return { result: "unchanged", warnings, resumed };
    const rejected = await readOptional(rejectedFile);
    resumed = rejected !== undefined;
    const start = rejected ?? original;
    const header = request.header?.({ resumed }) ?? "";
    const answer = await request.editor(header + start, { name });
    const text = answer.text.startsWith(header) ? answer.text.slice(header.length) : answer.text;
    if (answer.error) {
      if (text.trim() !== "" && text !== start) await keepRejected(rejectedFile, text);
      throw text.trim() !== "" && text !== start ? withRejectedHint(answer.error, rejectedFile, name) : answer.error;
    }
    if (text.trim() === "") return { result: "aborted", warnings, resumed };
    edited = text;
  }
  if (edited === undefined || edited === original) {
    // Back to den.yaml's own text: an earlier rejected text is no longer wanted.
    if (resumed) await rm(rejectedFile, { force: true });
    return { result: "unchanged", warnings, resumed };
  }
  await checkEdited(edited, { name, dir, denHome, original, rejectedFile });
  await replaceInstanceYaml(edited, { name, dir, original, rejectedFile });
  if (request.editor && flagged === undefined) await rm(rejectedFile, { force: true });
  const status = await activeStatus(denHome, name, dir, { readProcess: request.readProcess, logger: request.logger });
  return { result: "edited", warnings, resumed, ...(status !== undefined && { activeStatus: status }) };
}

/**
 * The text with the edit flags applied, or undefined when no flag changes anything (create-only flags are skipped for
 * an existing instance, with a warning). Pure but for `~`: the home folder defaults to the user's.
 */
export function applyEditFlags(text: string, flags: EditFlags, ctx: EditContext & { file: string }): { text: string | undefined; warnings: string[] } {
  const params = paramNames(text);
  const { exprs, warnings } = editFlagsToYq(flags, { home: ctx.home ?? homedir(), cwd: ctx.cwd, params, newInstance: false });
  return { text: exprs.length === 0 ? undefined : applyYqToYamlText(text, exprs, { file: ctx.file }), warnings };
}

/**
 * The `param:` names of a den.yaml text, which `--param` may set. A text that does not parse has none here: the
 * configuration pipeline reports it with its position when it is loaded (`den start NAME` of a damaged den.yaml).
 */
function paramNames(text: string): string[] {
  try {
    return Object.keys((parse(text, QuietYamlOptions) as { param?: Record<string, unknown> } | null)?.param ?? {});
  } catch {
    return [];
  }
}

/**
 * The comment lines above den.yaml in the editor: how to abort, where a rejected text goes, and the contents of
 * DEN_HOME's default.yaml and override.yaml, which are merged with the file (as Lima shows them).
 */
export function editorHeader(name: string, options: { resumed: boolean; layers: readonly { file: string; text: string }[] }): string {
  const lines = [
    `# Edit the configuration of den instance "${name}", then save and quit.`,
    `# Saving an empty file aborts the edit. A configuration that does not validate is kept in ${InstanceYamlRejected}.`,
  ];
  if (options.resumed) {
    lines.push(`# This is the text of an earlier edit that was rejected (${InstanceYamlRejected}); delete that file to start over from ${InstanceYaml}.`);
  }
  for (const layer of options.layers) {
    if (layer.text.trim() === "") continue;
    lines.push("#", `# WARNING: ${layer.file} is merged with this file:`, "# -----------");
    for (const line of layer.text.replace(/\n$/, "").split("\n")) lines.push(line === "" ? "#" : `# ${line}`);
    lines.push("# -----------");
  }
  return `${lines.join("\n")}\n\n`;
}

/**
 * Settings that an existing disk fixes: a disk is made for one architecture, and is never shrunk (Lima refuses a
 * smaller `disk:` too). Empty when the edit may be saved.
 */
export function frozenSettingIssues(before: Pick<FilledDenYaml, "arch" | "disk">, after: Pick<FilledDenYaml, "arch" | "disk">, options: { name: string; hasDisk: boolean; file: string }): ConfigIssue[] {
  if (!options.hasDisk) return [];
  const issues: ConfigIssue[] = [];
  if (before.arch !== after.arch) {
    issues.push({
      path: ["arch"],
      message: `Cannot change arch from "${before.arch}" to "${after.arch}": the instance's disk holds an ${before.arch} system`,
      hint: `den factory-reset ${options.name} discards the disk (keeping den.yaml); edit arch after that, or create a new instance`,
      file: options.file,
    });
  }
  if (parseSize(after.disk) < parseSize(before.disk)) {
    issues.push({
      path: ["disk"],
      message: `Cannot shrink disk from "${before.disk}" to "${after.disk}": a disk only grows`,
      hint: `keep disk at ${before.disk} or more`,
      file: options.file,
    });
  }
  return issues;
}

interface Where {
  name: string;
  dir: string;
  original: string;
  rejectedFile: string;
}

/**
 * Runs the full configuration pipeline on `edited` as instance `name` at `dir`, and refuses a change the instance's
 * disk does not allow (frozenSettingIssues, checked against `original`); throws the ConfigError. Problems are located
 * in `file`.
 */
export async function validateEditedConfig(edited: string, where: { name: string; dir: string; denHome: string; original: string; file: string; diskDir?: string | undefined }): Promise<void> {
  const base = { instanceName: where.name, instanceDir: where.dir, denHome: where.denHome };
  const after = await loadConfig(edited, { ...base, file: where.file });
  const before = await loadConfig(where.original, { ...base, file: join(where.dir, InstanceYaml) }).catch(() => undefined);
  const hasDisk = existsSync(join(where.diskDir ?? where.dir, Disk));
  const issues = before ? frozenSettingIssues(before, after, { name: where.name, hasDisk, file: where.file }) : [];
  if (issues.length > 0) throw new ConfigError("CONFIG_INVALID", issues);
}

/** validateEditedConfig(); on failure keeps the text in den.yaml.REJECTED and throws, naming that file. */
async function checkEdited(edited: string, where: Where & { denHome: string }): Promise<void> {
  try {
    // Problems are reported against den.yaml.REJECTED, so their line numbers lead into the text the user can fix.
    await validateEditedConfig(edited, { ...where, file: where.rejectedFile });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await keepRejected(where.rejectedFile, edited);
    throw withRejectedHint(error, where.rejectedFile, where.name);
  }
}

/** Replaces den.yaml in one rename, unless it changed since it was read (then the edit is kept in den.yaml.REJECTED). */
async function replaceInstanceYaml(edited: string, where: Where): Promise<void> {
  const file = join(where.dir, InstanceYaml);
  await using _lock = await acquireInstanceLock(where.dir, { timeoutMs: 10_000, owner: "den edit" });
  if ((await readConfigFile(file)) !== where.original) {
    await keepRejected(where.rejectedFile, edited);
    throw new DenError("INSTANCE_STATE", `Cannot save the edit of instance "${where.name}": ${InstanceYaml} changed while it was being edited`, {
      hint: `your text is kept in "${where.rejectedFile}"; run den edit ${where.name} to reopen it`,
    });
  }
  await writeAtomically(file, edited);
}

async function keepRejected(path: string, text: string): Promise<void> {
  await writeAtomically(path, text);
}

/** `error` with a hint that says where the rejected text is and how to get back to it. */
function withRejectedHint(error: DenError, rejectedFile: string, name: string): DenError {
  const kept = `your text is kept in "${rejectedFile}"; run den edit ${name} to reopen it`;
  const hint = error.hint ? `${error.hint}; ${kept}` : kept;
  if (error instanceof ConfigError) return new ConfigError(error.code as "CONFIG_SYNTAX" | "CONFIG_INVALID", error.issues, { hint, cause: error.cause });
  return new DenError(error.code, error.message, { hint, cause: error.cause, ...(error.details && { details: error.details }) });
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o644, flag: "wx" });
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readConfigFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
