import { describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sshfsCommand, sshfsOptions, sshfsUnmountCommand } from "../../../lib/mounts/sshfs-command.ts";

const base = { location: "/home/me/my project ü", mountPoint: "/home/me/my project ü", writable: false, sshfs: { cache: true, followSymlinks: false, sftpDriver: "" as "" | "builtin" | "openssh-sftp-server" } };

describe("sshfsOptions", () => {
  test.each<{ name: string; mount: typeof base; want: string[] }>([
    { name: "defaults (read-only, cached)", mount: base, want: ["idmap=user", "ro"] },
    { name: "writable", mount: { ...base, writable: true }, want: ["idmap=user"] },
    { name: "cache off", mount: { ...base, sshfs: { ...base.sshfs, cache: false } }, want: ["idmap=user", "cache=no", "ro"] },
    { name: "followSymlinks", mount: { ...base, writable: true, sshfs: { ...base.sshfs, followSymlinks: true } }, want: ["idmap=user", "follow_symlinks"] },
  ])("sshfsOptions() with $name is $want", ({ mount, want }) => {
    expect(sshfsOptions(mount)).toEqual(want);
  });
});

/** Runs the generated command with stand-ins for sudo, fusermount3 and sshfs that record their arguments. */
async function runWithStubs(mount: typeof base): Promise<{ calls: string[]; code: number | null }> {
  const dir = await mkdtemp(join(tmpdir(), "den-sshfs-cmd-"));
  try {
    const bin = join(dir, "bin");
    await mkdir(bin);
    const log = join(dir, "calls.log");
    const stub = (name: string, body: string) => writeFile(join(bin, name), `#!/bin/sh\nprintf '%s' '${name}' >>'${log}'; for a in "$@"; do printf ' [%s]' "$a" >>'${log}'; done; echo >>'${log}'\n${body}\n`).then(() => chmod(join(bin, name), 0o755));
    await stub("sudo", 'shift; exec "$@"');
    await stub("fusermount3", "exit 1");
    await stub("fusermount", "exit 1");
    await stub("sshfs", "exit 0");
    const point = join(dir, mount.mountPoint);
    const command = sshfsCommand({ ...mount, mountPoint: point });
    const child = Bun.spawnSync(["sh", "-c", command], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    const calls = (await readFile(log, "utf8")).trim().split("\n").map((line) => line.replaceAll(dir, "<dir>"));
    return { calls, code: child.exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("sshfsCommand", () => {
  test("sshfsCommand() creates a missing mount point with sudo and execs sshfs in slave mode with the path intact", async () => {
    const allowOther = /^user_allow_other/m.test(await readFile("/etc/fuse.conf", "utf8").catch(() => ""));
    const { calls, code } = await runWithStubs({ ...base, mountPoint: "mnt/a b ü" });
    expect(code).toBe(0);
    expect(calls).toContain("sudo [-n] [mkdir] [-p] [<dir>/mnt/a b ü]");
    expect(calls.at(-1)).toBe(`sshfs [:/home/me/my project ü] [<dir>/mnt/a b ü] [-o] [slave] [-o] [${allowOther ? "allow_other," : ""}idmap=user,ro]`);
  });

  test("sshfsCommand() keeps a quote in the location as one argument", async () => {
    const { calls } = await runWithStubs({ ...base, location: "/srv/it's here", mountPoint: "m", writable: true });
    expect(calls.at(-1)).toStartWith("sshfs [:/srv/it's here] [<dir>/m] [-o] [slave]");
  });

  test("sshfsUnmountCommand() quotes the mount point and always succeeds", () => {
    const command = sshfsUnmountCommand("/mnt/a b");
    expect(command).toContain("fusermount3 -u '/mnt/a b'");
    expect(command).toEndWith("|| true");
  });
});
