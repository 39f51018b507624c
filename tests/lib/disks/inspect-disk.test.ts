import { expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { diskNotFound, inspectDisk, listDiskNames, readDiskHolder } from "../../../lib/disks/inspect-disk.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { makeDiskHome } from "./disk-home.ts";

test("listDiskNames() lists disk folders sorted and skips files, links and names den would refuse", async () => {
  await using fx = makeDiskHome();
  fx.disk("zeta");
  fx.disk("alpha");
  mkdirSync(join(fx.home, "_disks/_hidden"));
  writeFileSync(join(fx.home, "_disks/file"), "");
  symlinkSync(join(fx.home, "_disks/alpha"), join(fx.home, "_disks/link"));
  expect(await listDiskNames(fx.home)).toEqual(["alpha", "zeta"]);
});

test("listDiskNames() is empty without a _disks folder", async () => {
  await using fx = makeDiskHome();
  expect(await listDiskNames(fx.home)).toEqual([]);
});

test("inspectDisk() reports size, format, lock holder and mount point as Lima does", async () => {
  await using fx = makeDiskHome();
  const dir = fx.disk("data", 8192);
  const dev = fx.instance("dev");
  fx.lock("data", dev);
  expect(await inspectDisk(fx.home, "data")).toEqual({ name: "data", size: 8192, format: "raw", dir, instance: "dev", instanceDir: dev, mountPoint: "/mnt/lima-data" });
  expect(await readDiskHolder(dir)).toBe(dev);
});

test("inspectDisk() throws DISK_NOT_FOUND for a folder without datadisk", async () => {
  await using fx = makeDiskHome();
  mkdirSync(join(fx.home, "_disks/empty"), { recursive: true });
  const error = await rejectedDenError(inspectDisk(fx.home, "empty"));
  expect(error.code).toBe("DISK_NOT_FOUND");
  expect(error.message).toBe('Cannot find disk "empty": it does not exist');
  expect(error.hint).toBe("see den disk list for the disks; create it with den disk create empty --size SIZE");
});

test.each([
  { options: {}, want: 'Cannot find disk "x": it does not exist' },
  { options: { action: "resize" }, want: 'Cannot resize disk "x": it does not exist' },
  { options: { action: "attach", instance: "dev" }, want: 'Cannot attach disk "x" to instance "dev": it does not exist' },
])("diskNotFound() reads $want", ({ options, want }) => {
  expect(diskNotFound("x", options).message).toBe(want);
});
