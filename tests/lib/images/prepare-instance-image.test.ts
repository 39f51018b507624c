import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadConfig } from "../../../lib/config/load.ts";
import type { FilledDenYaml } from "../../../lib/config/schema.ts";
import { prepareInstanceImage } from "../../../lib/images/prepare-instance-image.ts";
import { startImageServer } from "../../e2e/support/image-server.ts";
import { CompressionTools } from "./support/compression-tools.ts";

const root = mkdtempSync(join(tmpdir(), "den-prepare-test-"));
const server = await startImageServer();
afterAll(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});
const cacheDir = join(root, "cache");

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
    const result = await prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {} });
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
    const result = await prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {} });
    expect(result.copied).toBe(false);
    expect(readFileSync(join(dir, existing), "utf8")).toBe("already here");
    expect(existsSync(join(dir, "kernel"))).toBe(false);
  });

  test("prepareInstanceImage() decompresses a compressed image", async () => {
    const compressed = join(files, "disk.raw.gz");
    writeFileSync(compressed, Bun.gzipSync(Buffer.from("raw-disk-bytes")));
    const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ${compressed}\n  arch: x86_64\n`);
    await prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {} });
    expect(readFileSync(join(dir, "image"), "utf8")).toBe("raw-disk-bytes");
  });

  test("prepareInstanceImage() refuses a wrong digest and leaves no image behind", async () => {
    const wrong = `sha256:${"1".repeat(64)}`;
    const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ${join(files, "disk.qcow2")}\n  arch: x86_64\n  digest: "${wrong}"\n`);
    await expect(prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {} })).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: expect.stringContaining(`expected digest "${wrong}", got "${diskDigest}"`) });
    expect(existsSync(join(dir, "image"))).toBe(false);
  });

  test("prepareInstanceImage() downloads the image, kernel and initrd over HTTP through the cache", async () => {
    for (const file of ["disk.qcow2", "vmlinuz", "initrd.img"]) server.add(`remote/${file}`, { path: join(files, file) });
    const yaml = `arch: x86_64
images:
- location: ${server.url("remote/disk.qcow2")}
  arch: x86_64
  digest: ${diskDigest}
  kernel:
    location: ${server.url("remote/vmlinuz")}
    cmdline: console=ttyS0
  initrd:
    location: ${server.url("remote/initrd.img")}
`;
    const first = await instance(yaml);
    await prepareInstanceImage(first.dir, first.config, { hostHome: home, cacheDir, env: {} });
    expect(["image", "kernel", "initrd", "kernel.cmdline"].map((name) => readFileSync(join(first.dir, name), "utf8"))).toEqual(["disk-bytes", "kernel-bytes", "initrd-bytes", "console=ttyS0"]);
    // A second instance of the same template takes everything from the cache (the digest-less files after a 304).
    const second = await instance(yaml);
    await prepareInstanceImage(second.dir, second.config, { hostHome: home, cacheDir, env: {} });
    expect(readFileSync(join(second.dir, "image"), "utf8")).toBe("disk-bytes");
    expect(server.requests.filter((r) => r.name.startsWith("remote/")).map((r) => `${r.name} ${r.status}`)).toEqual([
      "remote/vmlinuz 200",
      "remote/initrd.img 200",
      "remote/disk.qcow2 200",
      "remote/vmlinuz 304",
      "remote/initrd.img 304",
    ]);
  });

  const original = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + (i >> 9)) % 256));
  writeFileSync(join(files, "original.raw"), original);
  test.each([...CompressionTools])("prepareInstanceImage() decompresses a downloaded .$extension image to the identical original", async ({ tool, extension }) => {
    const compressed = spawnSync(tool, ["-c", join(files, "original.raw")]).stdout;
    const digest = `sha256:${createHash("sha256").update(compressed).digest("hex")}`;
    server.add(`original.raw.${extension}`, { bytes: compressed });
    // Served under a name without the extension too: the magic bytes tell the compression.
    server.add(`bare-${extension}`, { bytes: compressed });
    for (const name of [`original.raw.${extension}`, `bare-${extension}`]) {
      const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ${server.url(name)}\n  arch: x86_64\n  digest: ${digest}\n`);
      await prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {} });
      expect(readFileSync(join(dir, "image")).equals(original)).toBe(true);
    }
  });

  test("prepareInstanceImage() falls back to the next image of the arch when one cannot be downloaded", async () => {
    server.add("fallback.img", { bytes: Buffer.from("fallback-bytes") });
    const { dir, config } = await instance(`arch: x86_64
images:
- location: ${server.origin}/gone.img
  arch: x86_64
- location: /nonexistent/arm.img
  arch: aarch64
- location: ${server.url("fallback.img")}
  arch: x86_64
`);
    const warnings: string[] = [];
    const result = await prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {}, onEvent: (event) => event.kind === "warning" && warnings.push(event.message) });
    expect(result.image.location).toBe(server.url("fallback.img"));
    expect(readFileSync(join(dir, "image"), "utf8")).toBe("fallback-bytes");
    expect(warnings).toEqual([`Cannot download image (gone.img) "${server.origin}/gone.img": HTTP 404; trying the next image`]);
  });

  test("prepareInstanceImage() names every image that failed when none of the arch can be fetched", async () => {
    const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ${server.origin}/a.img\n  arch: x86_64\n- location: ~/images/missing.qcow2\n  arch: x86_64\n`);
    await expect(prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {} })).rejects.toMatchObject({
      code: "FETCH_FAILED",
      message: `Cannot get an image for arch "x86_64": all 2 images[] entries failed:\n  - Cannot download image (a.img) "${server.origin}/a.img": HTTP 404\n  - Cannot read image "${join(home, "images/missing.qcow2")}": no such file`,
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  test("prepareInstanceImage() names a local image that does not exist", async () => {
    const { dir, config } = await instance(`arch: x86_64\nimages:\n- location: ~/images/missing.qcow2\n  arch: x86_64\n`);
    await expect(prepareInstanceImage(dir, config, { hostHome: home, cacheDir, env: {} })).rejects.toMatchObject({
      code: "IO",
      message: `Cannot read image "${join(home, "images/missing.qcow2")}": no such file`,
    });
  });
});
