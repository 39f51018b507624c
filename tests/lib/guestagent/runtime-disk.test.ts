import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureRuntimeDisk, RuntimeDiskLabel, runtimeDiskEntries, runtimeDiskName } from "../../../lib/guestagent/runtime-disk.ts";
import type { GuestRuntime } from "../../../lib/guestagent/guest-runtime.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const text = "the runtime bytes ".repeat(300);
const sha256 = new Bun.CryptoHasher("sha256").update(text).digest("hex");

async function setup(): Promise<{ denHome: string; runtime: GuestRuntime }> {
  const root = await tempDir(defer);
  const path = join(root, "bun");
  await writeFile(path, text);
  return { denHome: join(root, "home"), runtime: { path, size: text.length, sha256, target: "linux-x64", bunVersion: "1.4.5" } };
}

/** The primary volume descriptor's volume identifier (sector 16, bytes 40-71). */
async function volumeId(path: string): Promise<string> {
  const bytes = await Bun.file(path).bytes();
  return new TextDecoder().decode(bytes.subarray(16 * 2048 + 40, 16 * 2048 + 72)).trimEnd();
}

test("ensureRuntimeDisk() writes a private ISO named after the runtime's sha256, labelled DENRUNTIME, with bun and bun.sha256", async () => {
  const { denHome, runtime } = await setup();
  const path = await ensureRuntimeDisk(runtime, { denHome });
  expect(path).toBe(join(denHome, "_cache", "guestagent", "runtime-disks", `${sha256}.iso`));
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  expect(await volumeId(path)).toBe(RuntimeDiskLabel);
  const image = Buffer.from(await Bun.file(path).bytes());
  expect({ runtime: image.includes(text), digest: image.includes(`${sha256}\n`), bun: image.includes("bun.sha256") }).toEqual({ runtime: true, digest: true, bun: true });
});

test("ensureRuntimeDisk() with a musl runtime writes one disk with bun and bun-musl, named after both sha256s", async () => {
  const { denHome, runtime } = await setup();
  const muslText = "the musl runtime bytes ".repeat(200);
  const muslPath = join(denHome, "..", "bun-musl-source");
  await writeFile(muslPath, muslText);
  const muslSha = new Bun.CryptoHasher("sha256").update(muslText).digest("hex");
  const musl: GuestRuntime = { path: muslPath, size: muslText.length, sha256: muslSha, target: "linux-x64-musl", bunVersion: "1.4.5" };
  const path = await ensureRuntimeDisk(runtime, { denHome, musl });
  expect(path).toBe(join(denHome, "_cache", "guestagent", "runtime-disks", runtimeDiskName(runtime, { musl })));
  expect(path.endsWith(`${sha256}-${muslSha}.iso`)).toBe(true);
  expect(runtimeDiskEntries(runtime, { musl }).map((entry) => [entry.path, entry.mode])).toEqual([
    ["bun", 0o755],
    ["bun.sha256", 0o644],
    ["bun-musl", 0o755],
    ["bun-musl.sha256", 0o644],
  ]);
  const image = Buffer.from(await Bun.file(path).bytes());
  expect({ runtime: image.includes(text), musl: image.includes(muslText), muslDigest: image.includes(`${muslSha}\n`) }).toEqual({ runtime: true, musl: true, muslDigest: true });
  // The glibc-only disk is another file: a guest of the same den without the musl runtime keeps its own.
  expect(await ensureRuntimeDisk(runtime, { denHome })).toBe(join(denHome, "_cache", "guestagent", "runtime-disks", `${sha256}.iso`));
});

test("ensureRuntimeDisk() reuses the disk it wrote without reading the runtime again", async () => {
  const { denHome, runtime } = await setup();
  const path = await ensureRuntimeDisk(runtime, { denHome });
  const before = (await stat(path)).mtimeMs;
  await Bun.sleep(5);
  // A runtime whose bytes no longer match would fail a rewrite: reuse must not read it.
  await writeFile(runtime.path, text.toUpperCase());
  expect(await ensureRuntimeDisk(runtime, { denHome })).toBe(path);
  expect((await stat(path)).mtimeMs).toBe(before);
});

test.each([
  { name: "a truncated disk", tamper: (path: string) => writeFile(path, "short") },
  { name: "a world-readable disk", tamper: (path: string) => chmod(path, 0o644) },
])("ensureRuntimeDisk() writes $name again", async ({ tamper }) => {
  const { denHome, runtime } = await setup();
  const path = await ensureRuntimeDisk(runtime, { denHome });
  const size = (await stat(path)).size;
  await tamper(path);
  await ensureRuntimeDisk(runtime, { denHome });
  expect({ size: (await stat(path)).size, mode: (await stat(path)).mode & 0o777 }).toEqual({ size, mode: 0o600 });
});

test("ensureRuntimeDisk() refuses a runtime that is not the one den checked, and leaves no disk", async () => {
  const { denHome, runtime } = await setup();
  await writeFile(runtime.path, text.toUpperCase());
  await expect(ensureRuntimeDisk(runtime, { denHome })).rejects.toMatchObject({ message: expect.stringContaining("Cannot copy the guest agent runtime") });
  const dir = join(denHome, "_cache", "guestagent", "runtime-disks");
  expect({ disk: existsSync(join(dir, `${sha256}.iso`)), files: await readdir(dir) }).toEqual({ disk: false, files: [] });
});

test("ensureRuntimeDisk() that writes a new disk removes older disks of other builds, keeping the ones named and recent ones", async () => {
  const { denHome, runtime } = await setup();
  const dir = join(denHome, "_cache", "guestagent", "runtime-disks");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const old = Date.now() / 1000 - 3600;
  for (const c of ["1", "2", "3"]) {
    await writeFile(join(dir, `${c.repeat(64)}.iso`), "an older disk");
    if (c !== "3") await utimes(join(dir, `${c.repeat(64)}.iso`), old, old);
  }
  await ensureRuntimeDisk(runtime, { denHome, sweepKeeping: new Set(["2".repeat(64)]) });
  expect((await readdir(dir)).sort()).toEqual([`${"2".repeat(64)}.iso`, `${"3".repeat(64)}.iso`, `${sha256}.iso`].sort());
});

test("ensureRuntimeDisk() without sweepKeeping (a foreign arch's runtime) removes nothing", async () => {
  const { denHome, runtime } = await setup();
  const dir = join(denHome, "_cache", "guestagent", "runtime-disks");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, `${"1".repeat(64)}.iso`), "the native disk");
  await utimes(join(dir, `${"1".repeat(64)}.iso`), Date.now() / 1000 - 3600, Date.now() / 1000 - 3600);
  await ensureRuntimeDisk(runtime, { denHome });
  expect((await readdir(dir)).sort()).toEqual([`${"1".repeat(64)}.iso`, `${sha256}.iso`].sort());
});
