// What `den disk list --json` prints for one disk: Lima's `store.Disk` (pkg/store/disk.go), field for field, so
// scripts written against `limactl disk list --json` read den's lines unchanged.
import { z } from "zod";

export const DiskFormats = ["qcow2", "raw"] as const;
export type DiskFormat = (typeof DiskFormats)[number];

export const DiskInfoSchema = z.object({
  name: z.string(),
  /** Virtual size in bytes. */
  size: z.number().int().nonnegative(),
  format: z.enum(DiskFormats),
  /** `$DEN_HOME/_disks/NAME`. */
  dir: z.string(),
  /** Name of the instance holding the lock (the base name of `instanceDir`), "" when the disk is free. */
  instance: z.string(),
  /** Target of the `in_use_by` link, "" when the disk is free. */
  instanceDir: z.string(),
  /** Where the guest mounts it. */
  mountPoint: z.string(),
});

export type DiskInfo = z.output<typeof DiskInfoSchema>;
