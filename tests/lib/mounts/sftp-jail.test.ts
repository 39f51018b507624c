import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SftpStatus as S, SftpStatusError } from "../../../lib/mounts/sftp-packet.ts";
import { SftpJail } from "../../../lib/mounts/sftp-jail.ts";

let base: string;
let real: string;
/** The share as the guest names it: a symlink to the real folder, as a location under a symlinked home would be. */
let visible: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "den-sftp-jail-unit-"));
  real = join(base, "real");
  visible = join(base, "visible");
  await mkdir(join(real, "a", "b"), { recursive: true });
  await writeFile(join(real, "a", "b", "f"), "f");
  await symlink(real, visible);
  await symlink("a/b", join(real, "rel"));
  await symlink(join(visible, "a"), join(real, "abs-visible"));
  await symlink(join(real, "a", "b", "f"), join(real, "abs-real"));
  await symlink("loop2", join(real, "loop1"));
  await symlink("loop1", join(real, "loop2"));
  await symlink("../..", join(real, "a", "up"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function statusOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    return JSON.stringify(await promise);
  } catch (error) {
    return error instanceof SftpStatusError ? error.status : String(error);
  }
}

describe("SftpJail", () => {
  test.each([
    { name: "the share itself", path: "", followLast: true, want: "" },
    { name: "a relative path", path: "a/b/f", followLast: true, want: "a/b/f" },
    { name: "an absolute path under the location", path: "/a/b/f", followLast: true, want: "a/b/f", absolute: true },
    { name: "a path that does not exist yet", path: "a/new", followLast: true, want: "a/new" },
    { name: "a relative symlink", path: "rel/f", followLast: true, want: "a/b/f" },
    { name: "a symlink meant as itself", path: "rel", followLast: false, want: "rel" },
    { name: "an absolute symlink by the location's name", path: "abs-visible/b/f", followLast: true, want: "a/b/f" },
    { name: "an absolute symlink by the real path", path: "abs-real", followLast: true, want: "a/b/f" },
  ])("resolve() with followSymlinks maps $name inside the real folder", async ({ path, followLast, want, absolute }) => {
    const jail = await SftpJail.create(visible, { followSymlinks: true });
    const resolved = await jail.resolve(absolute ? `${visible}${path}` : path, { followLast });
    expect(resolved.path).toBe(want === "" ? real : join(real, want));
  });

  test.each([
    { name: "`..` above the share", path: "../x", want: S.PermissionDenied },
    { name: "an absolute path elsewhere", path: "/etc/hostname", want: S.PermissionDenied },
    { name: "the real path instead of the location", path: "REAL/a", want: S.PermissionDenied },
    { name: "a symlink that climbs out", path: "a/up/x", want: S.PermissionDenied },
    { name: "a symlink loop", path: "loop1", want: S.Failure },
    { name: "a missing folder", path: "nope/x", want: S.NoSuchFile },
  ])("resolve() with followSymlinks refuses $name", async ({ path, want }) => {
    const jail = await SftpJail.create(visible, { followSymlinks: true });
    expect(await statusOf(jail.resolve(path.replace("REAL", real), { followLast: true }))).toBe(want);
  });

  test.each([
    { path: "rel/f", followLast: true },
    { path: "rel", followLast: true },
    { path: "abs-real", followLast: true },
  ])("resolve() without followSymlinks refuses to go through $path", async ({ path, followLast }) => {
    const jail = await SftpJail.create(visible, { followSymlinks: false });
    expect(await statusOf(jail.resolve(path, { followLast }))).toBe(S.PermissionDenied);
  });

  test("visiblePath() and normalise() name the share by its location, never by its real path", async () => {
    const jail = await SftpJail.create(visible, { followSymlinks: true });
    expect(jail.visiblePath(real)).toBe(visible);
    expect(jail.visiblePath(join(real, "a", "b"))).toBe(join(visible, "a", "b"));
    expect(jail.normalise("a/./b/../b")).toBe(join(visible, "a", "b"));
    expect(() => jail.normalise("/")).toThrow("outside the shared folder");
  });
});
