import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadConfig } from "../../../lib/config/load.ts";
import type { FilledDenYaml, FilledImage } from "../../../lib/config/schema.ts";
import { prepareInstanceImage, selectImage } from "../../../lib/images/prepare-local.ts";

const root = mkdtempSync(join(tmpdir(), "den-prepare-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const home = join(root, "home");
const files = join(home, "images");
mkdirSync(files, { recursive: true });
writeFileSync(join(files, "disk.qcow2"), "disk-bytes");
writeFileSync(join(files, "vmlinuz"), "kernel-bytes");
writeFileSync(join(files, "initrd.img"), "initrd-bytes");
const diskDigest = `sha256:${createHash("sha256").update("disk-bytes").digest("hex")}`;

let counter = 0;
async function instance(yaml: string): Promise<{ dir: string; config: FilledDenYaml }> {
  const dir = join(root, `instance-${++counter}`);
  mkdirSync(dir);
  const config = await loadConfig(yaml, { file: join(dir, "den.yaml"), instanceName: `i${counter}`, instanceDir: dir, denHome: join(root, "den-home"), isDirectory: () => true });
  return { dir, config };
}

function image(partial: Partial<FilledImage> & { arch: string }): FilledImage {
  return { location: `/img/${partial.arch}.qcow2`, ...partial };
}

describe("selectImage()", () => {
  test.each([
    { name: "the first image of the arch", images: [image({ arch: "aarch64" }), image({ arch: "x86_64" }), image({ arch: "x86_64", location: "/second" })], want: "/img/x86_64.qcow2" },
    { name: "the only image", images: [image({ arch: "x86_64" })], want: "/img/x86_64.qcow2" },
  ])("selectImage() picks $name", ({ images, want }) => {
    expect(selectImage(images, "x86_64").location).toBe(want);
  });

  test.each([
    { name: "another arch only", images: [image({ arch: "aarch64" })], hint: "add an images[] entry with arch: x86_64, or set arch to one of: aarch64" },
    { name: "no images at all", images: [], hint: "add an images[] entry with a location and an arch" },
  ])("selectImage() refuses $name", ({ images, hint }) => {
    expect(() => selectImage(images, "x86_64")).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", message: 'No image for arch "x86_64" in images', hint }));
  });
});

describe("prepareInstanceImage()", () => {
  test("prepareInstanceImage() copies the image, kernel, initrd and command line of the guest's arch", async () => {
    const { dir, config } = await instance(`arch: x86_64
images:
- location: /nonexistent/arm.img
  arch: aarch64
- location: ${pathToFileURL(join(files, "disk.qcow2")).href}
  arch: x86_64
  digest: ${diskDigest}
  kernel:
    location: ~/images/vmlinuz
    cmdline: root=/dev/vda rw console=ttyS0
  initrd:
    location: ${join(files, "initrd.img")}
`);
    const result = await prepareInstanceImage(dir, config, { hostHome: home });
    expect(result.copied).toBe(true);
    expect({
      image: readFileSync(join(dir, "image"), "utf8"),
      kernel: readFileSync(join(dir, "kernel"), "utf8"),
      initrd: readFileSync(join(dir, "initrd"), "utf8"),
      cmdline: readFileSync(join(dir, "kernel.cmdline"), "utf8"),
    }).toEqual({ image: "disk-bytes", kernel: "kernel-bytes", initrd: "initrd-bytes", cmdline: "root=/dev/vda rw console=ttyS0" });
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  test.each([
    { name: "image", existing: "image" },
    { name: "disk", existing: "disk" },
  ])("prepareInstanceImage() does nothing when the instance already has its $name", async ({ existing }) => {
    const { dir, config } = await instance(`arch: x86_64
images:
- location: ${join(files, "disk.qcow2")}
  arch: x86_64
  kernel:
    location: ${join(files, "vmlinuz")}
`);
    writeFileSync(join(dir, existing), "already here");
    const result = await prepareInstanceImage(dir, config, { hostHome: home });
    expect(result.copied).toBe(false);
    expect(readFileSync(join(dir, existing), "utf8")).toBe("already here");
    expect(existsSync(join(dir, "kernel"))).toBe(false);
  });

  test("prepareInstanceImage() decompresses a compressed image", async () => {
    const compressed = join(files, "disk.raw.gz");
    writeFileSync(compressed, Bun.gzipSync(Buffer.from("raw-disk-bytes")));
    const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ${compressed}\n  arch: x86_64\n`);
    await prepareInstanceImage(dir, config, { hostHome: home });
    expect(readFileSync(join(dir, "image"), "utf8")).toBe("raw-disk-bytes");
  });

  test("prepareInstanceImage() refuses a wrong digest and leaves no image behind", async () => {
    const wrong = `sha256:${"1".repeat(64)}`;
    const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ${join(files, "disk.qcow2")}\n  arch: x86_64\n  digest: "${wrong}"\n`);
    await expect(prepareInstanceImage(dir, config, { hostHome: home })).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: expect.stringContaining(`expected digest "${wrong}", got "${diskDigest}"`) });
    expect(existsSync(join(dir, "image"))).toBe(false);
  });

  test.each([
    { name: "image", images: "- location: https://example.org/disk.img\n  arch: x86_64\n", what: 'image "https://example.org/disk.img"' },
    {
      name: "kernel",
      images: `- location: ${join(files, "disk.qcow2")}\n  arch: x86_64\n  kernel:\n    location: http://example.org/vmlinuz\n`,
      what: 'kernel "http://example.org/vmlinuz"',
    },
  ])("prepareInstanceImage() says remote downloads are not built yet for a remote $name and copies nothing", async ({ images, what }) => {
    const { dir, config } = await instance(`arch: x86_64\nimages:\n${images}`);
    const promise = prepareInstanceImage(dir, config, { hostHome: home });
    await expect(promise).rejects.toMatchObject({ code: "FETCH_FAILED", message: `Cannot download ${what}: den cannot download remote images yet (issue 5)` });
    expect(readdirSync(dir)).toEqual([]);
  });

  test("prepareInstanceImage() names a local image that does not exist", async () => {
    const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ~/images/missing.qcow2\n  arch: x86_64\n`);
    await expect(prepareInstanceImage(dir, config, { hostHome: home })).rejects.toMatchObject({
      code: "IO",
      message: `Cannot read image "${join(home, "images/missing.qcow2")}": no such file`,
    });
  });
});
