// With the real qemu-img (scripts/setup.sh installs qemu-utils): what den's disks are is what qemu-img says they are.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDataDisk, importDataDisk, parseImageInfo, resizeDataDisk } from "../../../lib/disks/data-disk-image.ts";
import { caughtDenError, rejectedDenError } from "../../support/caught-den-error.ts";
import { makeDiskHome } from "./disk-home.ts";

function qemuImgInfo(path: string): { format: string; "virtual-size": number; "backing-filename"?: string } {
  const child = Bun.spawnSync(["qemu-img", "info", "--output=json", path]);
  if (child.exitCode !== 0) throw new Error(child.stderr.toString());
  return JSON.parse(child.stdout.toString());
}

test.each([{ format: "qcow2" as const }, { format: "raw" as const }])("createDataDisk() and resizeDataDisk() make and grow a $format disk", async ({ format }) => {
  await using fx = makeDiskHome();
  const path = join(fx.home, "datadisk");
  await createDataDisk(path, { format, sizeBytes: 2 ** 20 });
  expect(qemuImgInfo(path)).toMatchObject({ format, "virtual-size": 2 ** 20 });
  await resizeDataDisk(path, { format, sizeBytes: 2 ** 21 });
  expect(qemuImgInfo(path)["virtual-size"]).toBe(2 ** 21);
  expect(readdirSync(fx.home)).toEqual(["datadisk"]);
});

test("importDataDisk() flattens a qcow2 overlay into a self-contained copy", async () => {
  await using fx = makeDiskHome();
  const base = join(fx.home, "base.qcow2");
  const overlay = join(fx.home, "overlay.qcow2");
  Bun.spawnSync(["qemu-img", "create", "-f", "qcow2", base, "1M"]);
  Bun.spawnSync(["qemu-img", "create", "-f", "qcow2", "-F", "qcow2", "-b", base, overlay]);
  const dest = join(fx.home, "datadisk");
  expect(await importDataDisk(overlay, dest)).toEqual({ format: "qcow2", size: 2 ** 20 });
  expect(qemuImgInfo(dest)["backing-filename"]).toBeUndefined();
});

test("importDataDisk() refuses an image that is neither qcow2 nor raw and leaves no file", async () => {
  await using fx = makeDiskHome();
  const vmdk = join(fx.home, "disk.vmdk");
  Bun.spawnSync(["qemu-img", "create", "-f", "vmdk", vmdk, "1M"]);
  const dest = join(fx.home, "datadisk");
  const error = await rejectedDenError(importDataDisk(vmdk, dest));
  expect(error.code).toBe("QEMU_IMG");
  expect(error.message).toBe(`Cannot import "${vmdk}": its format is "vmdk", and den disks are qcow2 or raw`);
  expect(existsSync(dest)).toBe(false);
});

test("createDataDisk() reports qemu-img's reason and leaves no temporary file", async () => {
  await using fx = makeDiskHome();
  const error = await rejectedDenError(createDataDisk(join(fx.home, "no-such-folder", "datadisk"), { format: "qcow2", sizeBytes: 2 ** 20 }));
  expect(error.code).toBe("QEMU_IMG");
  expect(error.message).toStartWith("qemu-img create failed: ");
});

test("createDataDisk() says how to install a missing qemu-img", async () => {
  await using fx = makeDiskHome();
  const error = await rejectedDenError(createDataDisk(join(fx.home, "datadisk"), { format: "raw", sizeBytes: 1 }, { qemuImg: join(fx.home, "missing-qemu-img") }));
  expect(error.code).toBe("HOST_TOOL_MISSING");
  expect(error.hint).toContain("qemu-utils");
});

test.each([
  { name: "a qcow2 answer", json: '{"format":"qcow2","virtual-size":1048576}', want: { format: "qcow2", size: 1048576 } },
  { name: "a raw answer with more fields", json: '{"virtual-size":5,"filename":"x","format":"raw","actual-size":0}', want: { format: "raw", size: 5 } },
])("parseImageInfo() reads $name", ({ json, want }) => {
  expect(parseImageInfo(json, "/x")).toEqual(want);
});

test.each([{ json: "not json" }, { json: "{}" }, { json: '{"format":"raw"}' }])("parseImageInfo() refuses $json", ({ json }) => {
  expect(caughtDenError(() => parseImageInfo(json, "/x")).code).toBe("QEMU_IMG");
});

test("a test image written as plain bytes is raw to qemu-img too", async () => {
  await using fx = makeDiskHome();
  const path = join(fx.home, "plain");
  writeFileSync(path, new Uint8Array(4096));
  expect(qemuImgInfo(path).format).toBe("raw");
});
