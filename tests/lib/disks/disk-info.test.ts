import { expect, test } from "bun:test";
import { DiskInfoSchema } from "../../../lib/disks/disk-info.ts";

const row = { name: "data", size: 1024, format: "qcow2", dir: "/d/_disks/data", instance: "", instanceDir: "", mountPoint: "/mnt/lima-data" };

test("DiskInfoSchema accepts a row of den disk list --json", () => {
  expect(DiskInfoSchema.parse(row)).toEqual(row as never);
});

test.each([
  { name: "an unknown format", change: { format: "vmdk" } },
  { name: "a negative size", change: { size: -1 } },
  { name: "a missing mount point", change: { mountPoint: undefined } },
])("DiskInfoSchema refuses $name", ({ change }) => {
  expect(DiskInfoSchema.safeParse({ ...row, ...change }).success).toBe(false);
});
