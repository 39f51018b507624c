// The additional disks an instance's VM attaches: path, format and serial of each, read when the driver builds its
// command line. Synchronous and small (a 32-byte header read per disk), so the driver's pure argv builder gets plain
// data; a missing disk is refused here, before anything starts.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { toDenError } from "../errors.ts";
import { DataDisk } from "../store/filenames.ts";
import { DataDiskHeaderBytes, parseDataDiskHeader } from "./data-disk-header.ts";
import type { DiskFormat } from "./disk-info.ts";
import { diskDirOf } from "./disk-name.ts";
import { diskSerial } from "./guest-disks.ts";
import { diskNotFound } from "./inspect-disk.ts";

/** One additional disk as QEMU gets it. */
export interface DataDiskDrive {
  name: string;
  /** Absolute path of `$DEN_HOME/_disks/NAME/datadisk`. */
  path: string;
  /** Passed to QEMU so it never probes the format (a guest could write a qcow2 header into a raw disk). */
  format: DiskFormat;
  serial: string;
}

/** The drives of `disks` (additionalDisks, in order); DenError("DISK_NOT_FOUND") for a disk that does not exist. */
export function dataDiskDrives(denHome: string, disks: readonly { name: string }[], options: { instance?: string } = {}): DataDiskDrive[] {
  return disks.map(({ name }) => {
    const path = join(diskDirOf(denHome, name), DataDisk);
    return { name, path, format: readFormat(path, name, options.instance), serial: diskSerial(name) };
  });
}

function readFormat(path: string, name: string, instance: string | undefined): DiskFormat {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw diskNotFound(name, { action: "attach", ...(instance !== undefined && { instance }) });
    throw toDenError(error);
  }
  try {
    const head = new Uint8Array(DataDiskHeaderBytes);
    const bytesRead = readSync(fd, head, 0, head.length, 0);
    return parseDataDiskHeader(head.subarray(0, bytesRead), fstatSync(fd).size).format;
  } finally {
    closeSync(fd);
  }
}
