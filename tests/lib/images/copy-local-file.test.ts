import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyLocalFile } from "../../../lib/images/copy-local-file.ts";
import { CompressionTools } from "./support/compression-tools.ts";

const dir = mkdtempSync(join(tmpdir(), "den-copy-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Large enough to take several read chunks and to fill a pipe.
const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const source = join(dir, "source.img");
writeFileSync(source, content);
const sha256 = `sha256:${createHash("sha256").update(content).digest("hex")}`;
const sha512 = `sha512:${createHash("sha512").update(content).digest("hex")}`;

async function compress(tool: string, extension: string): Promise<{ path: string; digest: string }> {
  const path = `${source}.${extension}`;
  const child = Bun.spawn([tool, "-c", source], { stdout: Bun.file(path) });
  expect(await child.exited).toBe(0);
  return { path, digest: `sha256:${createHash("sha256").update(readFileSync(path)).digest("hex")}` };
}

function leftovers(): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".tmp"));
}

describe("copyLocalFile()", () => {
  test.each([
    { name: "without a digest", digest: undefined },
    { name: "with a matching sha256 digest", digest: sha256 },
    { name: "with a matching sha512 digest", digest: sha512 },
  ])("copyLocalFile() copies a plain file $name", async ({ digest }) => {
    const target = join(dir, `plain-${digest?.slice(0, 6) ?? "none"}`);
    await copyLocalFile(source, target, { what: "image", digest, decompress: true });
    expect(readFileSync(target).equals(content)).toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(leftovers()).toEqual([]);
  });

  test.each([...CompressionTools])("copyLocalFile() decompresses a .$extension file with $tool and checks the digest of the compressed bytes", async ({ tool, extension }) => {
    const compressed = await compress(tool, extension);
    const target = join(dir, `from-${extension}`);
    await copyLocalFile(compressed.path, target, { what: "image", digest: compressed.digest, decompress: true });
    expect(readFileSync(target).equals(content)).toBe(true);
  });

  test("copyLocalFile() keeps a compressed file as it is when not asked to decompress", async () => {
    const compressed = await compress("gzip", "gz");
    const target = join(dir, "initrd-kept");
    await copyLocalFile(compressed.path, target, { what: "initrd", decompress: false });
    expect(readFileSync(target).equals(readFileSync(compressed.path))).toBe(true);
  });

  test("copyLocalFile() refuses a digest mismatch, quotes both digests and leaves no file behind", async () => {
    const wrong = `sha256:${"0".repeat(64)}`;
    const target = join(dir, "mismatch");
    const promise = copyLocalFile(source, target, { what: "image", digest: wrong });
    await expect(promise).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: `Cannot use image "${source}": expected digest "${wrong}", got "${sha256}"` });
    expect(readdirSync(dir)).not.toContain("mismatch");
    expect(leftovers()).toEqual([]);
  });

  test("copyLocalFile() refuses a digest mismatch of a compressed file", async () => {
    const compressed = await compress("xz", "xz");
    const promise = copyLocalFile(compressed.path, join(dir, "mismatch-xz"), { what: "image", digest: sha256, decompress: true });
    await expect(promise).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
    expect(leftovers()).toEqual([]);
  });

  test("copyLocalFile() names a missing source file", async () => {
    const missing = join(dir, "missing.img");
    await expect(copyLocalFile(missing, join(dir, "never"), { what: "kernel" })).rejects.toMatchObject({
      code: "IO",
      message: `Cannot read kernel "${missing}": no such file`,
    });
  });

  test("copyLocalFile() reports a corrupt compressed file", async () => {
    const broken = join(dir, "broken.img.gz");
    writeFileSync(broken, "this is not gzip data");
    const promise = copyLocalFile(broken, join(dir, "broken-out"), { what: "image", decompress: true });
    await expect(promise).rejects.toMatchObject({ code: "IO", message: expect.stringContaining(`Cannot decompress image "${broken}" with gzip`) });
    expect(leftovers()).toEqual([]);
  });

  test("copyLocalFile() streams the copy and still checks the digest when cp cannot be run", async () => {
    const path = process.env.PATH;
    process.env.PATH = join(dir, "no-tools-here");
    const target = join(dir, "streamed");
    try {
      await copyLocalFile(source, target, { what: "image", digest: sha256 });
      await expect(copyLocalFile(source, join(dir, "streamed-bad"), { what: "image", digest: sha512.replace(/.$/, "0") })).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
    } finally {
      process.env.PATH = path;
    }
    expect(readFileSync(target).equals(content)).toBe(true);
  });

  test("copyLocalFile() names the decompressor that is not installed", async () => {
    const compressed = await compress("xz", "xz");
    const path = process.env.PATH;
    process.env.PATH = join(dir, "no-tools-here");
    try {
      const promise = copyLocalFile(compressed.path, join(dir, "no-tool"), { what: "image", decompress: true });
      await expect(promise).rejects.toMatchObject({ code: "HOST_TOOL_MISSING", message: `Cannot decompress image "${compressed.path}": "xz" is not installed` });
    } finally {
      process.env.PATH = path;
    }
  });

  test.each([
    { tool: "gzip", extension: "gz" },
    { tool: "zstd", extension: "zst" },
  ])("copyLocalFile() decompresses $tool in-process, without the $tool command", async ({ tool, extension }) => {
    const compressed = await compress(tool, extension);
    const path = process.env.PATH;
    process.env.PATH = join(dir, "no-tools-here");
    const target = join(dir, `in-process-${extension}`);
    try {
      await copyLocalFile(compressed.path, target, { what: "image", decompress: true, digest: compressed.digest });
    } finally {
      process.env.PATH = path;
    }
    expect(readFileSync(target).equals(content)).toBe(true);
  });

  test("copyLocalFile() reads the compression from the given name when the file has none", async () => {
    const compressed = await compress("gzip", "gz");
    const bare = join(dir, "data");
    writeFileSync(bare, readFileSync(compressed.path));
    const target = join(dir, "from-name");
    await copyLocalFile(bare, target, { what: "image", decompress: true, name: "disk.img.gz" });
    expect(readFileSync(target).equals(content)).toBe(true);
  });

  test("copyLocalFile() reports a corrupt gzip file", async () => {
    const broken = join(dir, "broken.img.gz");
    writeFileSync(broken, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(100, 7)]));
    await expect(copyLocalFile(broken, join(dir, "broken-out"), { what: "image", decompress: true })).rejects.toMatchObject({
      code: "IO",
      message: expect.stringContaining(`Cannot decompress image "${broken}" with gzip:`),
    });
    expect(leftovers()).toEqual([]);
  });
});
