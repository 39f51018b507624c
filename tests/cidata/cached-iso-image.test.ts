import { expect, test } from "bun:test";
import { chmod, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureCachedIsoImage } from "../../cidata/cached-iso-image.ts";
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import { deferredCleanups, tempDir } from "../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const entries: IsoFileEntry[] = [{ path: "hello.txt", kind: "file", mode: 0o644, size: 6, source: () => "hello\n" }];
const options = { volumeId: "DENTEST", what: "the test disk" };

test("ensureCachedIsoImage() writes a private image once and reuses it", async () => {
  const path = join(await tempDir(defer), "a.iso");
  expect(await ensureCachedIsoImage(path, entries, options)).toBe(true);
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  expect(await ensureCachedIsoImage(path, entries, options)).toBe(false);
});

test.each([
  { name: "a file of another size", prepare: (path: string) => writeFile(path, "not an image", { mode: 0o600 }) },
  { name: "an image others may write", prepare: async (path: string) => void (await ensureCachedIsoImage(path, entries, options), await chmod(path, 0o666)) },
])("ensureCachedIsoImage() writes over $name", async ({ prepare }) => {
  const dir = await tempDir(defer);
  const path = join(dir, "a.iso");
  await prepare(path);
  expect(await ensureCachedIsoImage(path, entries, options)).toBe(true);
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  expect(await readdir(dir)).toEqual(["a.iso"]);
});

test("ensureCachedIsoImage() leaves no image when a file's source fails", async () => {
  const dir = await tempDir(defer);
  const failing: IsoFileEntry[] = [{ path: "x", kind: "file", mode: 0o644, size: 6, source: () => { throw new Error("source failed"); } }];
  await expect(ensureCachedIsoImage(join(dir, "a.iso"), failing, options)).rejects.toThrow();
  expect(await readdir(dir)).toEqual([]);
});
