import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MountType } from "../../../lib/config/schema.ts";
import { type GuestMountState, expectedFsType, mountCheckScript, mountProblem, parseMountCheck } from "../../../lib/mounts/guest-mount-check.ts";

describe("mountCheckScript", () => {
  test("mountCheckScript() asks findmnt for each exact mount point, quoted", () => {
    const script = mountCheckScript(["/mnt/a", "/tmp/x y/ü"]);
    expect(script).toContain("printf '%s ' 0; m=$(findmnt -rn -M /mnt/a -o FSTYPE,OPTIONS");
    expect(script).toContain("printf '%s ' 1; m=$(findmnt -rn -M '/tmp/x y/ü' -o FSTYPE,OPTIONS");
    expect(script).toContain("if [ -r '/tmp/x y/ü' ] && [ -x '/tmp/x y/ü' ]; then a=r; fi");
  });

  test("mountCheckScript() prints one line per mount when run by sh with a stand-in findmnt", async () => {
    const script = `findmnt() { case "$3" in /mnt/a) echo "9p rw,relatime,trans=virtio" ;; esac; }\n${mountCheckScript(["/mnt/a", "/mnt/missing b"])}`;
    const child = Bun.spawnSync(["sh", "-c", script]);
    expect(parseMountCheck(child.stdout.toString(), 2)).toEqual([{ fsType: "9p", options: ["rw", "relatime", "trans=virtio"], listable: false }, undefined]);
  });

  test("mountCheckScript() reports a mount point the running user may list as listable, and one of mode 0700 of another owner as not", () => {
    const dir = mkdtempSync(join(tmpdir(), "mount-check-"));
    try {
      chmodSync(dir, 0o755);
      const open = join(dir, "open");
      const closed = join(dir, "closed");
      mkdirSync(open);
      mkdirSync(closed, { mode: 0o700 });
      const findmnt = `findmnt() { echo "9p rw"; }\n`;
      const asRoot = process.getuid?.() === 0;
      // As root every folder is listable; as another user the closed folder is a stranger's, so run as nobody.
      if (asRoot) chownSync(closed, 65534, 65534);
      const command = ["sh", "-c", `${findmnt}${mountCheckScript([open, closed])}`];
      const child = Bun.spawnSync(asRoot ? ["setpriv", "--reuid=12345", "--regid=12345", "--clear-groups", ...command] : command);
      expect(parseMountCheck(child.stdout.toString(), 2).map((state) => state?.listable)).toEqual([true, false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseMountCheck", () => {
  test("parseMountCheck() reads the access column, and leaves it undefined when a line has none", () => {
    expect(parseMountCheck("0 9p rw r\n1 9p rw -\n2 9p rw\n", 3)).toEqual([
      { fsType: "9p", options: ["rw"], listable: true },
      { fsType: "9p", options: ["rw"], listable: false },
      { fsType: "9p", options: ["rw"] },
    ]);
  });

  test("parseMountCheck() leaves missing, unmounted and out-of-range lines undefined", () => {
    expect(parseMountCheck("0 -\n2 fuse.sshfs ro,nosuid\n7 9p rw\ngarbage\n", 3)).toEqual([undefined, undefined, { fsType: "fuse.sshfs", options: ["ro", "nosuid"] }]);
  });
});

describe("mountProblem", () => {
  test.each<{ name: string; state: GuestMountState | undefined; writable: boolean; type: MountType; want: string | undefined }>([
    { name: "a missing mount", state: undefined, writable: false, type: "9p" as const, want: "it is not mounted" },
    { name: "a working read-only 9p mount", state: { fsType: "9p", options: ["ro"] }, writable: false, type: "9p" as const, want: undefined },
    { name: "a working writable virtiofs mount", state: { fsType: "virtiofs", options: ["rw"] }, writable: true, type: "virtiofs" as const, want: undefined },
    { name: "a working sshfs mount", state: { fsType: "fuse.sshfs", options: ["rw", "nosuid"] }, writable: true, type: "reverse-sshfs" as const, want: undefined },
    { name: "another file system", state: { fsType: "ext4", options: ["rw"] }, writable: true, type: "9p" as const, want: 'a "ext4" file system is mounted there instead of 9p' },
    { name: "a writable mount mounted ro", state: { fsType: "9p", options: ["ro"] }, writable: true, type: "9p" as const, want: "it is mounted read-only although the mount is writable" },
    { name: "a mount the guest user cannot list", state: { fsType: "9p", options: ["rw"], listable: false }, writable: true, type: "9p" as const, want: "it is mounted, but the guest user cannot list it: the host folder's owner and mode keep that user out" },
    { name: "a read-only mount mounted rw", state: { fsType: "fuse.sshfs", options: ["rw"] }, writable: false, type: "reverse-sshfs" as const, want: "it is mounted writable although the mount is read-only" },
  ])("mountProblem() for $name is $want", ({ state, writable, type, want }) => {
    expect(mountProblem(state, { writable }, type)).toBe(want);
  });

  test.each([
    { type: "reverse-sshfs" as const, want: "fuse.sshfs" },
    { type: "9p" as const, want: "9p" },
    { type: "virtiofs" as const, want: "virtiofs" },
  ])("expectedFsType() of $type is $want", ({ type, want }) => {
    expect(expectedFsType(type)).toBe(want);
  });
});
