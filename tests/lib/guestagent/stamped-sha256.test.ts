import { expect, test } from "bun:test";
import { readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileSha256, recordSha256, stampedSha256 } from "../../../lib/guestagent/stamped-sha256.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const sha = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

async function setup(text: string) {
  const dir = await tempDir(defer);
  const path = join(dir, "runtime");
  await writeFile(path, text);
  return { path, stamp: join(dir, "runtime.sha256.json") };
}

test("stampedSha256() hashes the file once and then answers from the stamp", async () => {
  const { path, stamp } = await setup("runtime bytes");
  expect(await stampedSha256(path, stamp)).toBe(sha("runtime bytes"));
  expect((await stat(stamp)).mode & 0o777).toBe(0o600);
  // A stamp whose digest is not the file's proves the second answer did not read the file.
  const recorded = JSON.parse(await readFile(stamp, "utf8"));
  await writeFile(stamp, JSON.stringify({ ...recorded, sha256: "f".repeat(64) }));
  expect(await stampedSha256(path, stamp)).toBe("f".repeat(64));
});

test.each([
  { name: "its content changed (same size)", change: (path: string) => writeFile(path, "RUNTIME bytes") },
  {
    name: "its content changed and its mtime was set back",
    change: async (path: string) => {
      const before = await stat(path);
      await Bun.sleep(10);
      await writeFile(path, "RUNTIME bytes");
      await utimes(path, before.atime, before.mtime);
    },
  },
])("stampedSha256() hashes again when $name", async ({ change }) => {
  const { path, stamp } = await setup("runtime bytes");
  await stampedSha256(path, stamp);
  await change(path);
  expect(await stampedSha256(path, stamp)).toBe(sha("RUNTIME bytes"));
});

test.each([
  { name: "a damaged stamp", text: "{not json" },
  { name: "a stamp of another shape", text: JSON.stringify({ sha256: "f".repeat(64) }) },
])("stampedSha256() ignores $name", async ({ text }) => {
  const { path, stamp } = await setup("runtime bytes");
  await writeFile(stamp, text);
  expect(await stampedSha256(path, stamp)).toBe(sha("runtime bytes"));
});

test("recordSha256() stamps a file den just wrote, and fileSha256() hashes any file", async () => {
  const { path, stamp } = await setup("fresh");
  await recordSha256(path, stamp, sha("fresh"));
  expect(await stampedSha256(path, stamp)).toBe(sha("fresh"));
  expect(await fileSha256(path)).toBe(sha("fresh"));
});

test("stampedSha256() throws when the file is missing", async () => {
  const { stamp } = await setup("x");
  await expect(stampedSha256(join(stamp, "..", "missing"), stamp)).rejects.toMatchObject({ code: "ENOENT" });
});
