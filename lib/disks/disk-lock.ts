// Lima's disk lock: `$DEN_HOME/_disks/NAME/in_use_by` is a symbolic link to the folder of the instance that has the
// disk attached. `den start` takes the locks before the VM starts (Lima takes them while building QEMU's command
// line), and they are released when the host agent exits or `den stop -f` kills it; a second instance that lists
// the disk is refused, naming the disk and the instance that holds it. Creating a symbolic link is atomic, so two
// starts racing for one disk cannot both win.
//
// Two differences from Lima, both about stale locks: a link whose instance folder is gone (the instance was deleted,
// or DEN_HOME moved) no longer blocks anyone and is taken over; and a release removes only links that name the
// releasing instance, so `den stop -f a` never frees a disk that instance b holds.
import { lstat, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DenError, toDenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { DataDisk, InUseBy } from "../store/filenames.ts";
import { diskDirOf, disksDir, isDiskName } from "./disk-name.ts";
import { diskNotFound, readDiskHolder } from "./inspect-disk.ts";

/** What the disk's lock looks like now: free, or held by a folder that exists or is gone. */
export type DiskLockState = { holder: undefined } | { holder: string; holderExists: boolean };

/** What attaching the disk to an instance does given the lock's state. */
export type DiskLockDecision =
  | { action: "take" }
  /** The instance holds it already (a crash left the link, or `den start` runs again after a failed boot). */
  | { action: "keep" }
  /** The holder's folder is gone: nobody can be using the disk. */
  | { action: "replace-stale"; holder: string }
  | { action: "refuse"; holder: string };

/** The lock rule, pure: `instanceDir` and a holder are compared as absolute paths. */
export function diskLockDecision(state: DiskLockState, instanceDir: string): DiskLockDecision {
  if (state.holder === undefined) return { action: "take" };
  if (resolve(state.holder) === resolve(instanceDir)) return { action: "keep" };
  if (!state.holderExists) return { action: "replace-stale", holder: state.holder };
  return { action: "refuse", holder: state.holder };
}

export interface LockDisksOptions {
  /** Where taking over a stale lock is reported. */
  logger?: Pick<Logger, "warn"> | undefined;
}

/**
 * Locks each disk in `names` for the instance in `instanceDir`. All or nothing: when one disk is missing or held by
 * another instance, the locks this call took are released again before it throws (DISK_NOT_FOUND, DISK_IN_USE).
 */
export async function lockDisks(denHome: string, instanceDir: string, names: readonly string[], options: LockDisksOptions = {}): Promise<void> {
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) {
    throw new DenError("CONFIG_INVALID", `Cannot attach disk "${twice}" twice to instance "${basename(instanceDir)}"`, {
      hint: "list each disk once in additionalDisks",
    });
  }
  const taken: string[] = [];
  try {
    for (const name of names) {
      if (await lockDisk(denHome, instanceDir, name, options)) taken.push(name);
    }
  } catch (error) {
    for (const name of taken) await rm(join(diskDirOf(denHome, name), InUseBy), { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Locks one disk; true when this call created the link (false when the instance held it already). */
async function lockDisk(denHome: string, instanceDir: string, name: string, options: LockDisksOptions): Promise<boolean> {
  const dir = diskDirOf(denHome, name);
  if (!(await isFile(join(dir, DataDisk)))) throw diskNotFound(name, { action: "attach", instance: basename(instanceDir) });
  const target = resolve(instanceDir);
  const link = join(dir, InUseBy);
  // A second try only when another process created the link between our read and our symlink().
  for (let attempt = 0; attempt < 3; attempt++) {
    const decision = diskLockDecision(await readLockState(dir), target);
    switch (decision.action) {
      case "keep":
        return false;
      case "refuse":
        throw diskInUse(name, basename(instanceDir), decision.holder);
      case "replace-stale": {
        options.logger?.warn(`Disk "${name}" was locked by "${decision.holder}", which no longer exists; taking it over`);
        const temporary = `${link}.${process.pid}.tmp`;
        try {
          await symlink(target, temporary);
          await rename(temporary, link);
        } finally {
          await rm(temporary, { force: true });
        }
        return true;
      }
      case "take":
        try {
          await symlink(target, link);
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw toDenError(error);
        }
    }
  }
  throw new DenError("DISK_IN_USE", `Cannot lock disk "${name}": its lock keeps changing`, { hint: "another den start is attaching it; try again" });
}

/**
 * Removes every disk lock that names `instanceDir`; returns the names of the disks it released. Failures to remove one
 * link do not stop the others: they are thrown together at the end.
 */
export async function releaseDisks(denHome: string, instanceDir: string): Promise<string[]> {
  const target = resolve(instanceDir);
  const released: string[] = [];
  const failures: string[] = [];
  const entries = await readdir(disksDir(denHome)).catch(() => [] as string[]);
  for (const name of entries.filter(isDiskName).sort()) {
    const dir = diskDirOf(denHome, name);
    try {
      const holder = await readDiskHolder(dir);
      if (holder === undefined || resolve(dir, holder) !== target) continue;
      await rm(join(dir, InUseBy), { force: true });
      released.push(name);
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0) {
    throw new DenError("IO", `Cannot unlock the disks of "${instanceDir}": ${failures.join("; ")}`, {
      hint: `run den disk unlock NAME for each disk once the instance is stopped`,
    });
  }
  return released;
}

/** Removes the lock of disk `name` whoever holds it (`den disk unlock`, `den disk delete --force`). */
export async function unlockDisk(denHome: string, name: string): Promise<void> {
  await rm(join(diskDirOf(denHome, name), InUseBy), { force: true }).catch((error: unknown) => {
    throw toDenError(error);
  });
}

/** The lock of the disk in `diskDir`, with whether its holder's folder still exists. */
export async function readLockState(diskDir: string): Promise<DiskLockState> {
  const holder = await readDiskHolder(diskDir);
  if (holder === undefined) return { holder: undefined };
  const absolute = resolve(diskDir, holder);
  const holderExists = await lstat(absolute).then(
    (found) => found.isDirectory(),
    () => false,
  );
  return { holder: absolute, holderExists };
}

/** The refusal when `holder` has the disk and `instance` wants it. */
export function diskInUse(name: string, instance: string, holder: string): DenError {
  const holderName = basename(holder);
  return new DenError("DISK_IN_USE", `Cannot attach disk "${name}" to instance "${instance}": it is in use by instance "${holderName}" (${holder})`, {
    hint: `stop "${holderName}" first (den stop ${holderName}); if it does not run, release the disk with den disk unlock ${name}`,
    details: { disk: name, holder },
  });
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (found) => found.isFile(),
    () => false,
  );
}

/** The folder a holder path lives in: `den disk unlock` inspects only instances of this DEN_HOME. */
export function holderInstanceName(denHome: string, holder: string): string | undefined {
  return dirname(resolve(holder)) === resolve(denHome) ? basename(holder) : undefined;
}
