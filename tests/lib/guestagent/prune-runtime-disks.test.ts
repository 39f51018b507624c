import { expect, test } from "bun:test";
import { mkdir, readdir, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pruneRuntimeDisks } from "../../../lib/guestagent/prune-runtime-disks.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const sha = (c: string) => c.repeat(64);
const uuid = "0b8a3c1e-8f6d-4d8e-9a51-3f2b1c0d9e7a";
const hourAgo = Date.now() - 3_600_000;

test.each([
  { name: "another build's disk", file: `${sha("a")}.iso`, age: "old", removed: true },
  { name: "the kept disk", file: `${sha("b")}.iso`, age: "old", removed: false },
  { name: "another build's disk written a moment ago", file: `${sha("a")}.iso`, age: "new", removed: false },
  { name: "a crashed write of the kept disk", file: `${sha("b")}.iso.${uuid}.tmp`, age: "old", removed: true },
  { name: "a write of the kept disk in progress", file: `${sha("b")}.iso.${uuid}.tmp`, age: "new", removed: false },
  { name: "a file that is not a runtime disk", file: "notes.txt", age: "old", removed: false },
  { name: "an upper-case name", file: `${sha("A")}.iso`, age: "old", removed: false },
  { name: "a disk with the kept runtime and a kept musl runtime", file: `${sha("b")}-${sha("c")}.iso`, age: "old", removed: false },
  { name: "a disk with the kept runtime and another musl runtime", file: `${sha("b")}-${sha("d")}.iso`, age: "old", removed: true },
  { name: "a disk with another runtime and a kept musl runtime", file: `${sha("a")}-${sha("c")}.iso`, age: "old", removed: true },
  { name: "a crashed write of a kept disk with a musl runtime", file: `${sha("b")}-${sha("c")}.iso.${uuid}.tmp`, age: "old", removed: true },
])("pruneRuntimeDisks() with $name: removed $removed", async ({ file, age, removed }) => {
  const dir = await tempDir(defer);
  await writeFile(join(dir, file), "disk bytes");
  if (age === "old") await utimes(join(dir, file), hourAgo / 1000, hourAgo / 1000);
  const result = await pruneRuntimeDisks(dir, { keep: new Set([sha("b"), sha("c")]), minAgeMs: 600_000 });
  expect(result).toEqual(removed ? { removed: [file], freedBytes: 10 } : { removed: [], freedBytes: 0 });
  expect(await readdir(dir)).toEqual(removed ? [] : [file]);
});

test("pruneRuntimeDisks() never follows or removes a link or a folder named like a disk", async () => {
  const dir = await tempDir(defer);
  const outside = await tempDir(defer);
  await writeFile(join(outside, "victim"), "keep me");
  await symlink(join(outside, "victim"), join(dir, `${sha("c")}.iso`));
  await mkdir(join(dir, `${sha("d")}.iso`));
  expect(await pruneRuntimeDisks(dir, { keep: new Set(), minAgeMs: 0 })).toEqual({ removed: [], freedBytes: 0 });
  expect((await readdir(dir)).sort()).toEqual([`${sha("c")}.iso`, `${sha("d")}.iso`]);
  expect(await readdir(outside)).toEqual(["victim"]);
});

test("pruneRuntimeDisks() of a folder that does not exist frees nothing", async () => {
  expect(await pruneRuntimeDisks("/nonexistent/den/runtime-disks", { keep: new Set(), minAgeMs: 0 })).toEqual({ removed: [], freedBytes: 0 });
});
