import { beforeEach, expect, test } from "bun:test";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isDirectorySync, isExecutableFileSync, isFileSync, quietStatSync } from "../../../lib/fs/quiet-stat.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
let dir: string;

beforeEach(async () => {
  dir = await tempDir(defer);
  await writeFile(join(dir, "file"), "x");
  await writeFile(join(dir, "tool"), "#!/bin/sh\n");
  await chmod(join(dir, "tool"), 0o755);
  await mkdir(join(dir, "folder"));
  await chmod(join(dir, "folder"), 0o755);
  await symlink(join(dir, "tool"), join(dir, "link-to-tool"));
  await symlink(join(dir, "loop"), join(dir, "loop"));
});

/** What the predicates say yes to for `path`. */
function kinds(path: string): string[] {
  const checks = { file: isFileSync, directory: isDirectorySync, executable: isExecutableFileSync };
  return Object.entries(checks).flatMap(([kind, check]) => (check(path) ? [kind] : []));
}

test.each<{ name: string; want: string[] }>([
  { name: "file", want: ["file"] },
  { name: "tool", want: ["file", "executable"] },
  { name: "folder", want: ["directory"] },
  { name: "link-to-tool", want: ["file", "executable"] },
  { name: "loop", want: [] },
  { name: "missing", want: [] },
  { name: "file/below-a-file", want: [] },
])("$name is $want", ({ name, want }) => {
  expect(kinds(join(dir, name))).toEqual(want);
});

test("quietStatSync() answers undefined instead of throwing", () => {
  expect(quietStatSync(join(dir, "missing"))).toBeUndefined();
  expect(quietStatSync(join(dir, "file"))?.size).toBe(1);
});
