// `den clone OLD NEW`: a copy of a stopped instance, as `limactl clone` makes it. Files are cloned copy-on-write where
// the file system can (FICLONE, falling back to a copy), into a hidden folder in DEN_HOME that is renamed into place
// only when complete: an error or a crash never leaves a half-made instance that `den list` would show.
//
// The copy gets its own identity without anything written into its disk: the hostname is derived from the name, the
// MAC address from the instance folder's path (lib/config/defaults.ts macAddress), the cloud-init instance-id is new on
// every boot, and with it cloud-init makes new ssh host keys. Left out are the files of the old instance's runs
// (PID files, sockets, logs, the lock) and those rebuilt from the new name at every start (cidata.iso,
// cloud-config.yaml, ssh.config), as are `protected` (a clone starts unprotected, as in Lima) and the VZ machine
// identifier (a new one is made when it is missing).
import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import type { EditFlags } from "../config/edit-flags.ts";
import { QuietYamlOptions } from "../config/parse.ts";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import {
  CidataIso,
  CloudConfig,
  InstanceLockFile,
  InstanceYaml,
  InstanceYamlRejected,
  Protected,
  SocketDir,
  SshConfig,
  TmpFileSuffixes,
  VzIdentifierFile,
} from "../store/filenames.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir, instanceDirOf, validateInstanceName } from "../store/instance-name.ts";
import type { ProcessReader } from "../store/pid-file.ts";
import { repointDiskBacking } from "./disk-backing.ts";
import { applyEditFlags, type EditContext, validateEditedConfig } from "./edit.ts";
import { requireStopped } from "./require-stopped.ts";

export interface CloneOptions extends EditContext {
  /** Edit flags applied to the clone's den.yaml. */
  flags?: EditFlags | undefined;
  logger?: Logger | undefined;
  readProcess?: ProcessReader | undefined;
  /** The qemu-img binary; "qemu-img" from PATH by default. */
  qemuImg?: string | undefined;
  /** Node's platform name, for the socket path limit of the new name; this host's by default. */
  platform?: string | undefined;
}

export interface CloneResult {
  dir: string;
  /** The flags' warnings, and settings of the copy that the two instances would share. */
  warnings: string[];
}

/** Top-level entries left out of a clone (see the file's comment); anything ending in a TmpFileSuffixes is too. */
const NotCloned: ReadonlySet<string> = new Set([
  Protected,
  VzIdentifierFile,
  CidataIso,
  CloudConfig,
  SshConfig,
  SocketDir,
  InstanceYamlRejected,
  // TPM state (Lima's swtpm/) is a machine identity of its own.
  "swtpm",
]);

/** Whether the entry at `path` (relative to the instance folder, "/"-separated) is copied into a clone. */
export function isCloned(path: string): boolean {
  const parts = path.split("/");
  const top = parts[0] as string;
  const base = parts.at(-1) as string;
  if (parts.length === 1 && (NotCloned.has(top) || top.startsWith(InstanceLockFile) || top.endsWith(".log"))) return false;
  return !TmpFileSuffixes.some((suffix) => base.endsWith(suffix));
}

/** Clones stopped instance `from` to a new instance `to` in `denHome`. */
export async function cloneInstance(denHome: string, names: { from: string; to: string }, options: CloneOptions): Promise<CloneResult> {
  const { from, to } = names;
  const source = await existingInstanceDir(denHome, from, { action: "clone" });
  validateInstanceName(to, { denHome, ...(options.platform && { platform: options.platform }) });
  const target = instanceDirOf(denHome, to);
  if (from === to) throw new DenError("USAGE", `Cannot clone instance "${from}" to itself`, { hint: "give the clone another name" });
  if (await entryExists(target)) throw existsError(`clone instance "${from}"`, to, target);
  // A den start of the source in the meantime would copy a disk that is being written.
  await using _lock = await acquireInstanceLock(source, { timeoutMs: 0, owner: "den clone" });
  await requireStopped(denHome, from, { dir: source, action: "clone", readProcess: options.readProcess, logger: options.logger });

  const staging = join(denHome, `.clone-${to}-${randomUUID()}`);
  try {
    await mkdir(staging, { mode: 0o700 });
    await copyTree(source, staging, "");
    await repointDiskBacking(staging, { fromDir: source, toDir: target, qemuImg: options.qemuImg });
    const warnings = await applyFlags(staging, { ...options, name: to, target, denHome });
    // rename() would replace an empty folder made in the meantime: look once more, just before.
    if (await entryExists(target)) throw existsError(`clone instance "${from}"`, to, target);
    await rename(staging, target);
    return { dir: target, warnings };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The settings in a den.yaml that a clone shares with its original, as warnings: both could not run side by side. */
export function sharedSettingWarnings(yamlText: string): string[] {
  const config = parse(yamlText, QuietYamlOptions) as { networks?: unknown; ssh?: { localPort?: unknown } } | null;
  const warnings: string[] = [];
  const networks = Array.isArray(config?.networks) ? config.networks : [];
  networks.forEach((network: unknown, i: number) => {
    const mac = (network as { macAddress?: unknown } | null)?.macAddress;
    if (typeof mac === "string" && mac !== "") {
      warnings.push(`networks[${i}].macAddress "${mac}" is copied to the clone: the two cannot share a network while both run; change it with --set '.networks[${i}].macAddress = "…"'`);
    }
  });
  const port = config?.ssh?.localPort;
  if (typeof port === "number" && port !== 0) {
    warnings.push(`ssh.localPort ${port} is copied to the clone: the two cannot run at the same time; use --ssh-port 0 for a free port`);
  }
  return warnings;
}

async function applyFlags(staging: string, options: CloneOptions & { name: string; target: string; denHome: string }): Promise<string[]> {
  const file = join(staging, InstanceYaml);
  const original = await readFile(file, "utf8");
  const { text, warnings } = options.flags ? applyEditFlags(original, options.flags, { ...options, file: join(options.target, InstanceYaml) }) : { text: undefined, warnings: [] };
  if (text !== undefined && text !== original) {
    await validateEditedConfig(text, { name: options.name, dir: options.target, denHome: options.denHome, original, file: join(options.target, InstanceYaml), diskDir: staging });
    await writeFile(file, text, { mode: 0o644 });
  }
  return [...warnings, ...sharedSettingWarnings(text ?? original)];
}

/** Copies `from/relative` into `to/relative`, entry by entry, leaving out what isCloned() excludes. */
async function copyTree(from: string, to: string, relative: string): Promise<void> {
  for (const entry of await readdir(join(from, relative), { withFileTypes: true })) {
    const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (!isCloned(path)) continue;
    const source = join(from, path);
    const target = join(to, path);
    if (entry.isDirectory()) {
      await mkdir(target, { mode: (await lstat(source)).mode & 0o777 });
      await copyTree(from, to, path);
    } else if (entry.isFile()) {
      // FICLONE shares the blocks where the file system can (btrfs, XFS, APFS) and copies otherwise; the mode is kept.
      await copyFile(source, target, constants.COPYFILE_FICLONE);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    }
    // Sockets, FIFOs and devices belong to a run of the old instance.
  }
}

/** True when anything is at `path`, a dangling symbolic link included. */
export async function entryExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

export function existsError(action: string, name: string, dir: string): DenError {
  return new DenError("INSTANCE_EXISTS", `Cannot ${action} to "${name}": "${dir}" already exists`, {
    hint: `choose another name, or delete it first with den delete ${name}`,
  });
}
