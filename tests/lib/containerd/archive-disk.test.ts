import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ContainerdDiskLabel, ensureContainerdArchiveDisk, pruneContainerdArchiveDisks } from "../../../lib/containerd/archive-disk.ts";
import type { ContainerdArchiveFile } from "../../../lib/containerd/fetch-containerd-archive.ts";
import { DenError } from "../../../lib/errors.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
// Over 1 MiB, so the archive reaches the image in several chunks.
const content = new Uint8Array(3 * 1024 * 1024 + 77).map((_, i) => (i * 13 + (i >> 9)) % 256);
const sha256 = createHash("sha256").update(content).digest("hex");
const sha512 = createHash("sha512").update(content).digest("hex");

async function setup(digest: string | undefined = `sha256:${sha256}`): Promise<{ denHome: string; archive: ContainerdArchiveFile; disks: string; stamps: string }> {
  const root = await tempDir(defer);
  const path = join(root, "data");
  await writeFile(path, content);
  const denHome = join(root, "home");
  return {
    denHome,
    archive: { path, size: content.byteLength, digest, location: "https://example.com/nerdctl-full.tgz" },
    disks: join(denHome, "_cache", "containerd", "archive-disks"),
    stamps: join(denHome, "_cache", "containerd", "archive-stamps"),
  };
}

function isoinfo(iso: string, file: string): Uint8Array {
  if (!Bun.which("isoinfo")) throw new Error("isoinfo is missing: run scripts/setup.sh (apt-get install -y genisoimage)");
  const child = Bun.spawnSync(["isoinfo", "-R", "-i", iso, "-x", file]);
  if (child.exitCode !== 0) throw new Error(child.stderr.toString());
  return child.stdout;
}

/** The primary volume descriptor's volume identifier (sector 16, bytes 40-71). */
async function volumeId(path: string): Promise<string> {
  const bytes = await Bun.file(path).bytes();
  return new TextDecoder().decode(bytes.subarray(16 * 2048 + 40, 16 * 2048 + 72)).trimEnd();
}

test.each([
  { name: "a sha256 digest", digest: `sha256:${sha256}` as string | undefined },
  { name: "a sha512 digest", digest: `sha512:${sha512}` },
  { name: "no digest", digest: undefined },
])("ensureContainerdArchiveDisk() with $name writes a private ISO named after the archive's sha256, labelled DENCONTAINERD, with nerdctl-full.tgz and its sha256", async ({ digest }) => {
  const { denHome, archive, disks } = await setup(digest);
  const disk = await ensureContainerdArchiveDisk(archive, { denHome });
  expect(disk).toEqual({ path: join(disks, `${sha256}.iso`), sha256 });
  expect((await stat(disk.path)).mode & 0o777).toBe(0o600);
  expect(await volumeId(disk.path)).toBe(ContainerdDiskLabel);
  expect(createHash("sha256").update(isoinfo(disk.path, "/nerdctl-full.tgz")).digest("hex")).toBe(sha256);
  expect(new TextDecoder().decode(isoinfo(disk.path, "/nerdctl-full.tgz.sha256"))).toBe(`${sha256}\n`);
});

test("ensureContainerdArchiveDisk() reuses the disk it wrote without reading the archive again", async () => {
  const { denHome, archive } = await setup();
  const { path } = await ensureContainerdArchiveDisk(archive, { denHome });
  const before = (await stat(path)).mtimeMs;
  await Bun.sleep(5);
  // An archive whose bytes no longer match would fail a rewrite: reuse must not read it.
  await writeFile(archive.path, content.map((byte) => byte ^ 1));
  expect(await ensureContainerdArchiveDisk(archive, { denHome })).toEqual({ path, sha256 });
  expect((await stat(path)).mtimeMs).toBe(before);
});

test.each([
  { name: "a truncated disk", tamper: (path: string) => writeFile(path, "short") },
  { name: "a world-readable disk", tamper: (path: string) => chmod(path, 0o644) },
])("ensureContainerdArchiveDisk() writes $name again", async ({ tamper }) => {
  const { denHome, archive } = await setup();
  const { path } = await ensureContainerdArchiveDisk(archive, { denHome });
  const size = (await stat(path)).size;
  await tamper(path);
  await ensureContainerdArchiveDisk(archive, { denHome });
  expect({ size: (await stat(path)).size, mode: (await stat(path)).mode & 0o777 }).toEqual({ size, mode: 0o600 });
});

test.each([
  { name: "its sha256 digest", digest: `sha256:${"f".repeat(64)}`, expected: `sha256:${"f".repeat(64)}`, actual: `sha256:${sha256}` },
  { name: "its sha512 digest", digest: `sha512:${"f".repeat(128)}`, expected: `sha512:${"f".repeat(128)}`, actual: `sha512:${sha512}` },
])("ensureContainerdArchiveDisk() refuses an archive that does not match $name with DIGEST_MISMATCH, and leaves no disk", async ({ digest, expected, actual }) => {
  const { denHome, archive, disks } = await setup(digest);
  const error = await ensureContainerdArchiveDisk(archive, { denHome }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DenError);
  expect(error).toMatchObject({
    code: "DIGEST_MISMATCH",
    message: `Cannot copy the containerd archive "${archive.path}" (from "${archive.location}") to its disk: expected digest "${expected}", got "${actual}"`,
  });
  expect(await readdir(disks)).toEqual([]);
});

test("ensureContainerdArchiveDisk() takes the sha256 of an archive without a sha256 digest from its stamp, and the write still checks it", async () => {
  const { denHome, archive, disks, stamps } = await setup(`sha512:${sha512}`);
  await ensureContainerdArchiveDisk(archive, { denHome });
  const [stampName] = await readdir(stamps);
  const stampPath = join(stamps, stampName ?? "");
  const stamp = JSON.parse(await readFile(stampPath, "utf8")) as { sha256: string };
  expect(stamp.sha256).toBe(sha256);
  // A stamp naming another sha256 for the same file is believed (no rehash), so the disk it names is written, and
  // the copy's own check refuses the archive.
  await writeFile(stampPath, JSON.stringify({ ...stamp, sha256: "e".repeat(64) }));
  await expect(ensureContainerdArchiveDisk(archive, { denHome })).rejects.toMatchObject({
    code: "DIGEST_MISMATCH",
    message: expect.stringContaining(`expected digest "sha256:${"e".repeat(64)}", got "sha256:${sha256}"`),
  });
  expect(existsSync(join(disks, `${"e".repeat(64)}.iso`))).toBe(false);
});

test("ensureContainerdArchiveDisk() with a sha256 digest writes no stamp", async () => {
  const { denHome, archive, stamps } = await setup();
  await ensureContainerdArchiveDisk(archive, { denHome });
  expect(existsSync(stamps)).toBe(false);
});

test("ensureContainerdArchiveDisk() that writes a new disk removes disks of other archives older than 10 minutes", async () => {
  const { denHome, archive, disks } = await setup();
  await mkdir(disks, { recursive: true, mode: 0o700 });
  const old = Date.now() / 1000 - 3600;
  for (const c of ["1", "2"]) await writeFile(join(disks, `${c.repeat(64)}.iso`), "another archive's disk");
  await utimes(join(disks, `${"1".repeat(64)}.iso`), old, old);
  await ensureContainerdArchiveDisk(archive, { denHome });
  expect((await readdir(disks)).sort()).toEqual([`${"2".repeat(64)}.iso`, `${sha256}.iso`].sort());
});

test("pruneContainerdArchiveDisks() removes every archive disk and reports the bytes", async () => {
  const { denHome, archive, disks } = await setup();
  const { path } = await ensureContainerdArchiveDisk(archive, { denHome });
  await writeFile(join(disks, `${"2".repeat(64)}.iso`), "12345");
  const size = (await stat(path)).size;
  expect(await pruneContainerdArchiveDisks(denHome)).toEqual({ dir: disks, removed: expect.arrayContaining([`${"2".repeat(64)}.iso`, `${sha256}.iso`]), freedBytes: size + 5 });
  expect(await readdir(disks)).toEqual([]);
});

test("pruneContainerdArchiveDisks() without any disk frees nothing", async () => {
  const { denHome, disks } = await setup();
  expect(await pruneContainerdArchiveDisks(denHome)).toEqual({ dir: disks, removed: [], freedBytes: 0 });
});
