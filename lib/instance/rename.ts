// `den rename OLD NEW`: the instance folder is renamed in one step (as `limactl rename`, which moves the folder), with
// what inside it names the old folder or the old name put right: the disk's backing path (the instance's own image,
// stored as an absolute path) is pointed into the new folder, and the files rebuilt from the name at every start
// (ssh.config with its `Host den-OLD`, cidata.iso and cloud-config.yaml with the old hostname) are removed. Any
// failure after the folder moved moves it back, so the instance is either all OLD or all NEW. Unlike Lima, a
// protected instance stays protected: it is the same instance under another name.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EditFlags } from "../config/edit-flags.ts";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { CidataIso, CloudConfig, InstanceLockFile, InstanceYaml, SshConfig } from "../store/filenames.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir, instanceDirOf, validateInstanceName } from "../store/instance-name.ts";
import type { ProcessReader } from "../store/pid-file.ts";
import { entryExists, existsError } from "./clone.ts";
import { repointDiskBacking } from "./disk-backing.ts";
import { applyEditFlags, type EditContext, validateEditedConfig } from "./edit.ts";
import { requireStopped } from "./require-stopped.ts";

export interface RenameOptions extends EditContext {
  /** Edit flags applied to the instance's den.yaml on the way. */
  flags?: EditFlags | undefined;
  logger?: Logger | undefined;
  readProcess?: ProcessReader | undefined;
  /** The qemu-img binary; "qemu-img" from PATH by default. */
  qemuImg?: string | undefined;
  /** Node's platform name, for the socket path limit of the new name; this host's by default. */
  platform?: string | undefined;
}

/** Files rebuilt at every start that name the old instance; removed so nothing reads them before the next start. */
export const RebuiltFromName: readonly string[] = [SshConfig, CidataIso, CloudConfig];

/** Renames stopped instance `from` to `to`; returns the new folder and the flags' warnings. */
export async function renameInstance(denHome: string, names: { from: string; to: string }, options: RenameOptions): Promise<{ dir: string; warnings: string[] }> {
  const { from, to } = names;
  const source = await existingInstanceDir(denHome, from, { action: "rename" });
  validateInstanceName(to, { denHome, ...(options.platform && { platform: options.platform }) });
  const target = instanceDirOf(denHome, to);
  if (from === to) throw new DenError("USAGE", `Cannot rename instance "${from}" to its own name`, { hint: "give it another name" });
  if (await entryExists(target)) throw existsError(`rename instance "${from}"`, to, target);
  await using _lock = await acquireInstanceLock(source, { timeoutMs: 0, owner: "den rename" });
  await requireStopped(denHome, from, { dir: source, action: "rename", readProcess: options.readProcess, logger: options.logger });

  // The flags are checked before anything moves: a bad one changes nothing.
  const original = await readFile(join(source, InstanceYaml), "utf8");
  const { text: edited, warnings } = options.flags ? applyEditFlags(original, options.flags, { ...options, file: join(target, InstanceYaml) }) : { text: undefined, warnings: [] };
  if (edited !== undefined && edited !== original) {
    await validateEditedConfig(edited, { name: to, dir: target, denHome, original, file: join(target, InstanceYaml), diskDir: source });
  }

  if (await entryExists(target)) throw existsError(`rename instance "${from}"`, to, target);
  await rename(source, target);
  let repointed = false;
  try {
    repointed = await repointDiskBacking(target, { fromDir: source, toDir: target, qemuImg: options.qemuImg });
    if (edited !== undefined && edited !== original) await replaceText(join(target, InstanceYaml), edited);
  } catch (error) {
    await undo({ source, target, repointed, original: edited !== undefined && edited !== original ? original : undefined, qemuImg: options.qemuImg });
    throw error;
  }
  await Promise.all(RebuiltFromName.map((file) => rm(join(target, file), { force: true })));
  // The lock moved along with the folder; it is this process's, taken above.
  await rm(join(target, InstanceLockFile), { force: true });
  return { dir: target, warnings };
}

/** Puts the instance back as it was under its old name; `original` is den.yaml's text when it may have been replaced. */
async function undo(state: { source: string; target: string; repointed: boolean; original: string | undefined; qemuImg: string | undefined }): Promise<void> {
  if (state.repointed) await repointDiskBacking(state.target, { fromDir: state.target, toDir: state.source, qemuImg: state.qemuImg });
  if (state.original !== undefined) await replaceText(join(state.target, InstanceYaml), state.original);
  await rename(state.target, state.source);
}

async function replaceText(path: string, text: string): Promise<void> {
  const temporary = `${path}.rename.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}
