// How the guest finds, formats and mounts each `additionalDisks` entry: the disk's virtio serial (which the VM
// driver sets and the boot script looks up in /sys/block/*/serial) and the DEN_CIDATA_DISK_* lines of den.env that
// cidata/boot/linux/05-additional-disks.sh reads. Lima passes a device name (vdb, vdc… by order) instead; den's guest
// has the seed and the guest agent's runtime disk on virtio too, so an order would be a guess and the serial is not.
import { createHash } from "node:crypto";
import type { FilledDisk } from "../config/schema.ts";
import { ConfigError, type ConfigIssue } from "../errors.ts";

/** QEMU passes a virtio-blk serial to the guest cut to 20 bytes (VIRTIO_BLK_ID_BYTES). */
const MaxSerialBytes = 20;
const SerialPrefix = "lima-";
// A command name suffix (mkfs.<fsType>) and a `mount -t` value: nothing a shell or a path could read as more.
const FsTypePattern = /^[a-z0-9]+$/;

/** One disk as the guest's boot script gets it. */
export interface GuestDisk {
  name: string;
  serial: string;
  /** Make a filesystem when the disk has none yet (`format: true`, the default). */
  format: boolean;
  fsType: string;
  fsArgs: string[];
}

/**
 * The disk's virtio serial: `lima-<name>` (so /dev/disk/by-id/virtio-lima-<name> reads like Lima's label), or, for a
 * name too long for 20 bytes, `lima-` and 15 hex digits of the name's sha256, unique in practice and stable.
 */
export function diskSerial(name: string): string {
  const plain = `${SerialPrefix}${name}`;
  if (Buffer.byteLength(plain) <= MaxSerialBytes) return plain;
  const digest = createHash("sha256").update(name).digest("hex");
  return `${SerialPrefix}${digest.slice(0, MaxSerialBytes - SerialPrefix.length)}`;
}

/** The filled `additionalDisks` as the guest needs them; a fsType that is no plain word is refused (ConfigError). */
export function guestDisks(disks: readonly FilledDisk[]): GuestDisk[] {
  const issues: ConfigIssue[] = [];
  disks.forEach((disk, i) => {
    if (!FsTypePattern.test(disk.fsType)) {
      issues.push({
        path: ["additionalDisks", i, "fsType"],
        message: `Invalid filesystem type "${disk.fsType}": use lowercase letters and digits`,
        hint: 'e.g. "ext4", "xfs", "btrfs" or "swap"',
      });
    }
  });
  if (issues.length > 0) throw new ConfigError("CONFIG_INVALID", issues);
  return disks.map((disk) => ({ name: disk.name, serial: diskSerial(disk.name), format: disk.format, fsType: disk.fsType, fsArgs: [...disk.fsArgs] }));
}

/**
 * den.env entries (keys without DEN_CIDATA_) for the disks: `DISKS`, then per disk `DISK_<i>_NAME`, `_SERIAL`,
 * `_FORMAT` ("1" or ""), `_FSTYPE`, and `_FSARGS` (a count) with `_FSARGS_<j>` for each argument, so an argument with
 * a space in it stays one argument. Nothing at all without disks: den.env stays as it was for every other instance.
 */
export function guestDiskEnv(disks: readonly GuestDisk[]): [string, string][] {
  if (disks.length === 0) return [];
  const entries: [string, string][] = [["DISKS", String(disks.length)]];
  disks.forEach((disk, i) => {
    entries.push(
      [`DISK_${i}_NAME`, disk.name],
      [`DISK_${i}_SERIAL`, disk.serial],
      [`DISK_${i}_FORMAT`, disk.format ? "1" : ""],
      [`DISK_${i}_FSTYPE`, disk.fsType],
      [`DISK_${i}_FSARGS`, String(disk.fsArgs.length)],
      ...disk.fsArgs.map((arg, j): [string, string] => [`DISK_${i}_FSARGS_${j}`, arg]),
    );
  });
  return entries;
}
