// The work behind `den disk create|list|delete|resize|unlock|import` (Lima's cmd/limactl/disk.go), on
// $DEN_HOME/_disks/NAME/{datadisk,in_use_by}. Where Lima warns and goes on (a disk that does not exist in a delete
// or unlock list, a disk still referenced by a stopped instance), den does the same; where Lima fails (a disk in use),
// den throws with a hint.
import { lstat, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import { formatSize } from "../config/units.ts";
import { DenError, excerptPath } from "../errors.ts";
import type { Logger } from "../log.ts";
import { inspectInstance } from "../status/inspect.ts";
import type { InstanceStatus } from "../status/instance-info.ts";
import { ensurePrivateDir } from "../store/dirs.ts";
import { DataDisk } from "../store/filenames.ts";
import { listInstanceNames } from "../store/instance-names.ts";
import { createDataDisk, importDataDisk, resizeDataDisk } from "./data-disk-image.ts";
import type { DiskFormat, DiskInfo } from "./disk-info.ts";
import { holderInstanceName, readLockState, unlockDisk } from "./disk-lock.ts";
import { checkDiskName, diskDirOf } from "./disk-name.ts";
import { diskNotFound, inspectDisk, listDiskNames } from "./inspect-disk.ts";

export interface DiskContext {
  denHome: string;
  logger: Pick<Logger, "info" | "warn">;
  /** The qemu-img binary; "qemu-img" from PATH by default. */
  qemuImg?: string | undefined;
  /** The status of instance `name` of this DEN_HOME; inspectInstance() by default. */
  statusOf?: ((name: string) => Promise<InstanceStatus>) | undefined;
  /** Instance name → the disk names its configuration lists; read from every den.yaml by default. */
  instanceDisks?: (() => Promise<Map<string, string[]>>) | undefined;
}

/** `den disk create NAME --size SIZE [--format qcow2|raw]`. */
export async function createDisk(name: string, options: DiskContext & { sizeBytes: number; format: DiskFormat }): Promise<DiskInfo> {
  const dir = diskDirOf(options.denHome, name);
  checkSize(options.sizeBytes);
  await refuseExisting(name, dir);
  options.logger.info(`Creating ${options.format} disk "${name}" with size ${formatSize(options.sizeBytes)}`);
  await ensurePrivateDir(dir);
  try {
    await createDataDisk(join(dir, DataDisk), { format: options.format, sizeBytes: options.sizeBytes }, options);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return inspectDisk(options.denHome, name);
}

/** `den disk import NAME FILE`: a copy of a qcow2 or raw image becomes disk NAME. */
export async function importDisk(name: string, options: DiskContext & { file: string }): Promise<DiskInfo> {
  const dir = diskDirOf(options.denHome, name);
  await refuseExisting(name, dir);
  const source = await lstat(options.file).catch(() => undefined);
  if (!source?.isFile() && !source?.isSymbolicLink()) {
    throw new DenError("IO", `Cannot import "${excerptPath(options.file)}" as disk "${name}": it is not a file`, { hint: "give the path of a qcow2 or raw disk image" });
  }
  await ensurePrivateDir(dir);
  try {
    const imported = await importDataDisk(options.file, join(dir, DataDisk), options);
    options.logger.info(`Imported ${imported.format} disk "${name}" with size ${formatSize(imported.size)}`);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return inspectDisk(options.denHome, name);
}

/** `den disk list [NAME…]`: all disks, or those named (a name with no disk is warned about, as Lima does). */
export async function listDisks(names: readonly string[], options: DiskContext): Promise<DiskInfo[]> {
  const all = await listDiskNames(options.denHome);
  if (names.length === 0 && all.length === 0) options.logger.warn("No disk found. Run `den disk create DISK --size SIZE` to create a disk.");
  for (const name of names) if (!all.includes(name)) options.logger.warn(`No disk matching "${name}" found`);
  const wanted = names.length === 0 ? all : names.filter((name) => all.includes(name));
  const rows: DiskInfo[] = [];
  for (const name of wanted) {
    try {
      rows.push(await inspectDisk(options.denHome, name));
    } catch (error) {
      options.logger.warn(`Cannot read disk "${name}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return rows;
}

/**
 * `den disk delete NAME… [--force]`. Without force, a disk locked by an instance whose folder exists is refused, and
 * a disk that a (stopped) instance's configuration lists is skipped with a warning, as Lima does.
 */
export async function deleteDisks(names: readonly string[], options: DiskContext & { force: boolean }): Promise<string[]> {
  names.forEach(checkDiskName);
  let references: Map<string, string[]> | undefined;
  const deleted: string[] = [];
  for (const name of names) {
    const dir = diskDirOf(options.denHome, name);
    if (!(await exists(dir))) {
      options.logger.warn(`Ignoring non-existent disk "${name}"`);
      continue;
    }
    if (!options.force) {
      const lock = await readLockState(dir);
      if (lock.holder !== undefined && lock.holderExists) {
        throw new DenError("DISK_IN_USE", `Cannot delete disk "${name}": it is in use by instance "${holderName(lock.holder)}" (${lock.holder})`, {
          hint: `stop that instance first, or delete the disk anyway with den disk delete --force ${name}`,
        });
      }
      references ??= await (options.instanceDisks ?? (() => instanceDisksOf(options.denHome)))();
      const users = [...references].filter(([, disks]) => disks.includes(name)).map(([instance]) => instance);
      if (users.length > 0) {
        options.logger.warn(`Skipping deleting disk "${name}": it is listed in additionalDisks of ${users.map((user) => `"${user}"`).join(", ")}; to delete anyway, run den disk delete --force ${name}`);
        continue;
      }
    }
    await rm(dir, { recursive: true, force: true });
    options.logger.info(`Deleted "${name}" (${dir})`);
    deleted.push(name);
  }
  return deleted;
}

/**
 * `den disk unlock NAME…`: removes locks a crash or a killed host agent left. A disk whose holder is an instance of
 * this DEN_HOME that is not Stopped keeps its lock (warned about, as Lima does).
 */
export async function unlockDisks(names: readonly string[], options: DiskContext): Promise<string[]> {
  names.forEach(checkDiskName);
  const unlocked: string[] = [];
  for (const name of names) {
    const dir = diskDirOf(options.denHome, name);
    if (!(await exists(dir))) {
      options.logger.warn(`Ignoring non-existent disk "${name}"`);
      continue;
    }
    const lock = await readLockState(dir);
    if (lock.holder === undefined) {
      options.logger.warn(`Ignoring unlocked disk "${name}"`);
      continue;
    }
    const status = lock.holderExists ? await holderStatus(lock.holder, options) : undefined;
    if (status !== undefined && status !== "Stopped") {
      options.logger.warn(`Cannot unlock disk "${name}": instance "${holderName(lock.holder)}" that uses it is ${status}`);
      continue;
    }
    await unlockDisk(options.denHome, name);
    options.logger.info(`Unlocked disk "${name}" (${dir})`);
    unlocked.push(name);
  }
  return unlocked;
}

/** `den disk resize NAME --size SIZE`: grows a disk (never shrinks); refused while an instance using it runs. */
export async function resizeDisk(name: string, options: DiskContext & { sizeBytes: number }): Promise<DiskInfo> {
  checkSize(options.sizeBytes);
  const disk = await inspectDisk(options.denHome, name).catch((error: unknown) => {
    throw error instanceof DenError && error.code === "DISK_NOT_FOUND" ? diskNotFound(name, { action: "resize" }) : error;
  });
  if (options.sizeBytes < disk.size) {
    throw new DenError("USAGE", `Cannot resize disk "${name}" to ${formatSize(options.sizeBytes)}: it is ${formatSize(disk.size)}, and a disk cannot shrink`, {
      hint: `give a size of at least ${formatSize(disk.size)}; for a smaller disk, create a new one and copy the data`,
    });
  }
  const lock = await readLockState(disk.dir);
  const status = lock.holder !== undefined && lock.holderExists ? await holderStatus(lock.holder, options) : undefined;
  if (status !== undefined && status !== "Stopped") {
    const holder = holderName(lock.holder as string);
    throw new DenError("DISK_IN_USE", `Cannot resize disk "${name}": instance "${holder}" that uses it is ${status}`, { hint: `stop it first: den stop ${holder}` });
  }
  if (options.sizeBytes === disk.size) {
    options.logger.info(`Disk "${name}" is already ${formatSize(disk.size)}`);
    return disk;
  }
  await resizeDataDisk(join(disk.dir, DataDisk), { format: disk.format, sizeBytes: options.sizeBytes }, options);
  options.logger.info(`Resized disk "${name}" to ${formatSize(options.sizeBytes)}; the guest grows its partition and filesystem at the next start`);
  return inspectDisk(options.denHome, name);
}

/** Instance name → disk names in its additionalDisks, for every instance whose configuration loads. */
export async function instanceDisksOf(denHome: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const instance of await listInstanceNames(denHome)) {
    const config = await loadInstanceConfig(denHome, instance).catch(() => undefined);
    if (config) out.set(instance, config.additionalDisks.map((disk) => disk.name));
  }
  return out;
}

function checkSize(sizeBytes: number): void {
  if (!(sizeBytes > 0)) throw new DenError("USAGE", "Cannot use disk size 0: a disk needs at least one byte", { hint: 'give --size a size such as "10GiB"' });
}

async function refuseExisting(name: string, dir: string): Promise<void> {
  if (await exists(dir)) {
    throw new DenError("DISK_EXISTS", `Cannot create disk "${name}": it already exists (${dir})`, {
      hint: `choose another name, or delete it first with den disk delete ${name}`,
    });
  }
}

/** The status of the instance holding a lock; undefined when it is not an instance of this DEN_HOME. */
async function holderStatus(holder: string, options: DiskContext): Promise<InstanceStatus | undefined> {
  const instance = holderInstanceName(options.denHome, holder);
  if (instance === undefined) return undefined;
  return (options.statusOf ?? ((name: string) => inspectInstance(options.denHome, name).then((info) => info.status)))(instance);
}

function holderName(holder: string): string {
  return basename(holder);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
