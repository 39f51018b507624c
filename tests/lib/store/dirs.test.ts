import { afterEach, describe, expect, test } from "bun:test";
import { chmod, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { denHome, ensurePrivateDir, isInstanceFolderName } from "../../../lib/store/dirs.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

describe("denHome()", () => {
  test.each([
    { env: { DEN_HOME: "/srv/den" }, want: "/srv/den" },
    { env: { DEN_HOME: "/srv/den/../x" }, want: "/srv/x" },
    { env: { HOME: "/home/ann" }, want: "/home/ann/.den" },
    { env: { DEN_HOME: "", HOME: "/home/bo" }, want: "/home/bo/.den" },
  ])("is $want for $env", ({ env, want }) => {
    expect(denHome(env)).toBe(want);
  });
});

describe("isInstanceFolderName()", () => {
  test.each([
    { name: "default", want: true },
    { name: "_config", want: false },
    { name: ".tmp-create-x", want: false },
    { name: "my-vm.2", want: true },
  ])("$name is an instance folder: $want", ({ name, want }) => {
    expect(isInstanceFolderName(name)).toBe(want);
  });
});

describe("ensurePrivateDir()", () => {
  const defer = deferredCleanups();
  const umask = process.umask();
  afterEach(() => void process.umask(umask));
  const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

  test("ensurePrivateDir() makes the folder and its missing parents 0700 under umask 000", async () => {
    const root = await tempDir(defer);
    process.umask(0);
    await ensurePrivateDir(join(root, "a", "b", "c"));
    expect(await Promise.all([join(root, "a"), join(root, "a", "b"), join(root, "a", "b", "c")].map(modeOf))).toEqual([0o700, 0o700, 0o700]);
  });

  test("ensurePrivateDir() tightens the folder itself but leaves parents that existed", async () => {
    const root = await tempDir(defer);
    await mkdir(join(root, "home", "_cache"), { recursive: true });
    await chmod(join(root, "home"), 0o755);
    await chmod(join(root, "home", "_cache"), 0o777);
    await ensurePrivateDir(join(root, "home", "_cache"));
    expect(await modeOf(join(root, "home", "_cache"))).toBe(0o700);
    expect(await modeOf(join(root, "home"))).toBe(0o755);
  });

  test("ensurePrivateDir() fails with a hint when a file stands in the way", async () => {
    const root = await tempDir(defer);
    await Bun.write(join(root, "file"), "x");
    await expect(ensurePrivateDir(join(root, "file", "sub"))).rejects.toMatchObject({ code: "IO", message: expect.stringContaining("ENOTDIR"), hint: expect.stringContaining("DEN_HOME") });
  });
});
