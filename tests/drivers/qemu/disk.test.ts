import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { createOverlay, detectImageFormat, growDisk, qemuImgInfo } from "../../../drivers/qemu/disk.ts";

const MiB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), "den-disk-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function qemuImgCreate(path: string, format: string, size: string): Promise<void> {
  const child = Bun.spawn(["qemu-img", "create", "-q", "-f", format, path, size]);
  expect(await child.exited).toBe(0);
}

describe("createOverlay()", () => {
  test("createOverlay() makes a qcow2 overlay backed by the absolute base path", async () => {
    const base = join(dir, "base.qcow2");
    await qemuImgCreate(base, "qcow2", "16M");
    const overlay = join(dir, "overlay-a");
    await createOverlay({ base, overlay, sizeBytes: 64 * MiB, baseFormat: "qcow2" });
    const info = await qemuImgInfo(overlay);
    expect(info).toMatchObject({ format: "qcow2", "virtual-size": 64 * MiB, "backing-filename": base, "backing-filename-format": "qcow2" });
  });

  test("createOverlay() records a raw base as raw", async () => {
    const base = join(dir, "base.raw");
    await qemuImgCreate(base, "raw", "8M");
    const overlay = join(dir, "overlay-b");
    await createOverlay({ base, overlay, sizeBytes: 8 * MiB, baseFormat: "raw" });
    expect((await qemuImgInfo(overlay))["backing-filename-format"]).toBe("raw");
  });

  test("createOverlay() reports a missing base as a QEMU_IMG error", async () => {
    const promise = createOverlay({ base: join(dir, "missing.qcow2"), overlay: join(dir, "overlay-c"), sizeBytes: MiB, baseFormat: "qcow2" });
    await expect(promise).rejects.toBeInstanceOf(DenError);
    await expect(promise).rejects.toMatchObject({ code: "QEMU_IMG" });
  });
});

describe("growDisk()", () => {
  test.each([
    { name: "grows a smaller disk", start: "16M", want: 32 * MiB, grown: true, size: 32 * MiB },
    { name: "keeps a disk of the same size", start: "16M", want: 16 * MiB, grown: false, size: 16 * MiB },
    { name: "never shrinks a bigger disk", start: "16M", want: 8 * MiB, grown: false, size: 16 * MiB },
  ])("growDisk() $name", async ({ name, start, want, grown, size }) => {
    const path = join(dir, `grow-${name.replaceAll(" ", "-")}.qcow2`);
    await qemuImgCreate(path, "qcow2", start);
    expect(await growDisk(path, want)).toBe(grown);
    expect((await qemuImgInfo(path))["virtual-size"]).toBe(size);
  });
});

describe("detectImageFormat()", () => {
  test("detectImageFormat() recognises qcow2 by its magic", async () => {
    const path = join(dir, "detect.qcow2");
    await qemuImgCreate(path, "qcow2", "1M");
    expect(await detectImageFormat(path)).toBe("qcow2");
  });

  test("detectImageFormat() recognises an ISO9660 image by CD001 at 0x8001", async () => {
    const bytes = new Uint8Array(0x8800);
    bytes.set(new TextEncoder().encode("CD001"), 0x8001);
    const path = join(dir, "detect.iso");
    writeFileSync(path, bytes);
    expect(await detectImageFormat(path)).toBe("iso");
  });

  test.each([
    { name: "zeros", bytes: new Uint8Array(0x9000) },
    { name: "a file shorter than the magic", bytes: new Uint8Array([0x51, 0x46]) },
  ])("detectImageFormat() calls $name raw", async ({ name, bytes }) => {
    const path = join(dir, `detect-${name.replaceAll(" ", "-")}.img`);
    writeFileSync(path, bytes);
    expect(await detectImageFormat(path)).toBe("raw");
  });
});
