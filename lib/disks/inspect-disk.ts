// Reads what $DEN_HOME/_disks holds: the disk names, and for one disk its format, size and lock (Lima's
// `store.InspectDisk`). Read-only: nothing here creates, locks or removes anything.
import { open, readdir, readlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { DenError, toDenError } from "../errors.ts";
import { DataDisk, InUseBy } from "../store/filenames.ts";
import { DataDiskHeaderBytes, parseDataDiskHeader } from "./data-disk-header.ts";
import type { DiskInfo } from "./disk-info.ts";
import { diskDirOf, diskMountPoint, disksDir, isDiskName } from "./disk-name.ts";

/** The disks in `$DEN_HOME/_disks`, sorted: every real folder with a disk name (links and stray files are skipped). */
export async function listDiskNames(denHome: string): Promise<string[]> {
  const entries = await readdir(disksDir(denHome), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw toDenError(error);
  });
  return entries
    .filter((entry) => entry.isDirectory() && isDiskName(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** Disk `name` as `den disk list` shows it; DenError("DISK_NOT_FOUND") when it has no datadisk. */
export async function inspectDisk(denHome: string, name: string): Promise<DiskInfo> {
  const dir = diskDirOf(denHome, name);
  const { format, size } = await readDataDiskHeader(join(dir, DataDisk), name);
  const holder = await readDiskHolder(dir);
  return {
    name,
    size,
    format,
    dir,
    instance: holder === undefined ? "" : basename(holder),
    instanceDir: holder ?? "",
    mountPoint: diskMountPoint(name),
  };
}

/** The instance folder the disk's `in_use_by` link names, or undefined when the disk is not locked. */
export async function readDiskHolder(diskDir: string): Promise<string | undefined> {
  try {
    return await readlink(join(diskDir, InUseBy));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw toDenError(error);
  }
}

async function readDataDiskHeader(path: string, name: string) {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw diskNotFound(name);
    throw toDenError(error);
  }
  try {
    const head = new Uint8Array(DataDiskHeaderBytes);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const { size } = await handle.stat();
    return parseDataDiskHeader(head.subarray(0, bytesRead), size);
  } finally {
    await handle.close();
  }
}

/** The error for a disk name with no disk behind it; `instance` names who wanted it attached. */
export function diskNotFound(name: string, options: { action?: string; instance?: string } = {}): DenError {
  const to = options.instance === undefined ? "" : ` to instance "${options.instance}"`;
  return new DenError("DISK_NOT_FOUND", `Cannot ${options.action ?? "find"} disk "${name}"${to}: it does not exist`, {
    hint: `see den disk list for the disks; create it with den disk create ${name} --size SIZE`,
  });
}
