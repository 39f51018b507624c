import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDiskDrives } from "../../../lib/disks/data-disk-drives.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";
import { makeDiskHome } from "./disk-home.ts";

test("dataDiskDrives() gives each disk's path, format read from its header, and serial, in order", async () => {
  await using fx = makeDiskHome();
  fx.disk("raw1");
  const qcow = fx.disk("q");
  const header = new Uint8Array(64);
  header.set([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]);
  writeFileSync(join(qcow, "datadisk"), header);
  expect(dataDiskDrives(fx.home, [{ name: "q" }, { name: "raw1" }])).toEqual([
    { name: "q", path: join(fx.home, "_disks/q/datadisk"), format: "qcow2", serial: "lima-q" },
    { name: "raw1", path: join(fx.home, "_disks/raw1/datadisk"), format: "raw", serial: "lima-raw1" },
  ]);
  expect(dataDiskDrives(fx.home, [])).toEqual([]);
});

test("dataDiskDrives() refuses a disk that does not exist, naming the instance", async () => {
  await using fx = makeDiskHome();
  const error = caughtDenError(() => dataDiskDrives(fx.home, [{ name: "missing" }], { instance: "dev" }));
  expect(error.code).toBe("DISK_NOT_FOUND");
  expect(error.message).toBe('Cannot attach disk "missing" to instance "dev": it does not exist');
});
