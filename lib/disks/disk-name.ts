// Which additional-disk names den accepts, and the one way from a name to its folder under $DEN_HOME/_disks. A name
// is joined to a path only after it passed the rule `additionalDisks[].name` is validated with (lib/config/validate.ts),
// so `..`, `_x`, `a/b` or "" can never make `den disk delete` remove anything outside one disk folder.
import { dirname, join, resolve } from "node:path";
import { DenError, excerpt } from "../errors.ts";
import { DisksDir } from "../store/filenames.ts";

// Lima's identifier rule, the same as for instance names: no separators, no dot names, no leading "_" or ".".
const NamePattern = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
/** A name is a folder name (NAME_MAX) and part of the guest's mount point. */
const MaxNameBytes = 255;
const NameHint = 'use letters and digits, separated by single ".", "_" or "-", e.g. "data" or "build-cache"';

/** True when `name` could name a disk: the rule of checkDiskName, without throwing. */
export function isDiskName(name: string): boolean {
  return NamePattern.test(name) && Buffer.byteLength(name) <= MaxNameBytes;
}

/** Throws DenError("DISK_NAME_INVALID") unless `name` is a disk name. */
export function checkDiskName(name: string): void {
  if (isDiskName(name)) return;
  const reason =
    name === ""
      ? "must not be empty"
      : /[/\\]/.test(name)
        ? 'must not contain "/" or "\\"'
        : /^[_.]/.test(name)
          ? 'names starting with "_" or "." are not disk names'
          : Buffer.byteLength(name) > MaxNameBytes
            ? `longer than ${MaxNameBytes} bytes`
            : 'use letters and digits, separated by single ".", "_" or "-"';
  throw new DenError("DISK_NAME_INVALID", `Invalid disk name "${excerpt(name, 40)}": ${reason}`, { hint: NameHint });
}

/** `$DEN_HOME/_disks`. */
export function disksDir(denHome: string): string {
  return join(resolve(denHome), DisksDir);
}

/** The folder of disk `name`: checked to be a disk name whose folder is a direct child of `$DEN_HOME/_disks`. */
export function diskDirOf(denHome: string, name: string): string {
  checkDiskName(name);
  const parent = disksDir(denHome);
  const dir = join(parent, name);
  // The name rule already excludes separators and dot names; this holds even if that rule is ever loosened.
  if (dirname(dir) !== parent) throw new DenError("DISK_NAME_INVALID", `Invalid disk name "${excerpt(name, 40)}": does not name a folder in ${parent}`, { hint: NameHint });
  return dir;
}

/** Where the guest mounts disk `name`: Lima's `/mnt/lima-<name>`, so templates and scripts written for Lima find it. */
export function diskMountPoint(name: string): string {
  return `/mnt/lima-${name}`;
}
