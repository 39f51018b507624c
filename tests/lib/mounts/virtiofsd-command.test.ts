import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caughtDenError } from "../../support/caught-den-error.ts";
import {
  fuseOptValue,
  subordinateRange,
  type VirtiofsdCommandInput,
  type VirtiofsdHostFacts,
  virtiofsdAccessCheck,
  virtiofsdCandidates,
  virtiofsdCommand,
  virtiofsdFlavour,
  virtiofsdLaunchPlan,
} from "../../../lib/mounts/virtiofsd-command.ts";

describe("virtiofsdFlavour", () => {
  test.each([
    { name: "QEMU 7.2's daemon", output: "virtiofsd version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022", want: "c" },
    { name: "QEMU 7.2's daemon run by an ordinary user", output: "setgroups() failed with error=1:Operation not permitted\n", want: "c" },
    { name: "the Rust daemon", output: "virtiofsd 1.13.1\n", want: "rust" },
    { name: "no output", output: "", want: "rust" },
  ])("virtiofsdFlavour() of $name is $want", ({ output, want }) => {
    expect(virtiofsdFlavour(output)).toBe(want);
  });
});

describe("virtiofsdCandidates", () => {
  test("virtiofsdCandidates() tries PATH and the Rust daemon's folders before QEMU's C daemon", () => {
    const candidates = virtiofsdCandidates({ PATH: "/usr/local/bin" });
    expect(candidates[0]).toBe("/usr/local/bin/virtiofsd");
    expect(candidates.indexOf("/usr/libexec/virtiofsd")).toBeLessThan(candidates.indexOf("/usr/lib/qemu/virtiofsd"));
  });
});

describe("virtiofsdCommand", () => {
  const common = { socketPath: "/i/virtiofsd-0.sock", location: "/home/me/a b", guest: { uid: 1000, gid: 1000 } };
  test.each<{ name: string; input: VirtiofsdCommandInput; want: string[] }>([
    {
      name: "the C daemon in a user namespace",
      input: { ...common, binary: { path: "/usr/lib/qemu/virtiofsd", flavour: "c" as const }, unshare: "/usr/bin/unshare" },
      want: ["/usr/bin/unshare", "--user", "--map-user=1000", "--map-group=1000", "--keep-caps", "--", "/usr/lib/qemu/virtiofsd", "--socket-path=/i/virtiofsd-0.sock", "-o", "source=/home/me/a b", "-o", "cache=auto"],
    },
    {
      name: "the C daemon for an ordinary user, with a subordinate gid and a handed-over socket",
      input: { ...common, binary: { path: "/usr/lib/qemu/virtiofsd", flavour: "c" as const }, unshare: "/usr/bin/unshare", subordinateGid: 100000, listenFd: 3 },
      want: ["/usr/bin/unshare", "--user", "--map-user=1000", "--map-group=1000", "--map-groups=100000,65534,1", "--keep-caps", "--", "/usr/lib/qemu/virtiofsd", "--fd=3", "-o", "source=/home/me/a b", "-o", "cache=auto"],
    },
    {
      name: "the subordinate gid one below the overflow gid when the guest user's gid is 65534",
      input: { ...common, guest: { uid: 1000, gid: 65534 }, binary: { path: "/usr/lib/qemu/virtiofsd", flavour: "c" as const }, unshare: "/usr/bin/unshare", subordinateGid: 100000 },
      want: ["/usr/bin/unshare", "--user", "--map-user=1000", "--map-group=65534", "--map-groups=100000,65533,1", "--keep-caps", "--", "/usr/lib/qemu/virtiofsd", "--socket-path=/i/virtiofsd-0.sock", "-o", "source=/home/me/a b", "-o", "cache=auto"],
    },
    {
      name: "the Rust daemon without unshare",
      input: { ...common, binary: { path: "/usr/libexec/virtiofsd", flavour: "rust" as const }, unshare: undefined },
      want: ["/usr/libexec/virtiofsd", "--socket-path=/i/virtiofsd-0.sock", "--shared-dir=/home/me/a b", "--cache=auto", "--sandbox=chroot"],
    },
  ])("virtiofsdCommand() runs $name", ({ input, want }) => {
    expect(virtiofsdCommand(input)).toEqual(want);
  });
});

describe("fuseOptValue", () => {
  test.each([
    { value: "/home/me/a b", want: "/home/me/a b" },
    { value: "/srv/x,source=/", want: "/srv/x\\,source=/" },
    { value: "/srv/back\\slash", want: "/srv/back\\\\slash" },
    { value: "/a\\,b", want: "/a\\\\\\,b" },
  ])("fuseOptValue() escapes $value as $want", ({ value, want }) => {
    expect(fuseOptValue(value)).toBe(want);
  });

  test("virtiofsdCommand() escapes the C daemon's source= and leaves the Rust daemon's --shared-dir= whole", () => {
    const location = "/srv/x,source=/";
    const input = { socketPath: "/i,j/virtiofsd-0.sock", location, guest: { uid: 1000, gid: 1000 }, unshare: undefined };
    expect(virtiofsdCommand({ ...input, binary: { path: "/usr/lib/qemu/virtiofsd", flavour: "c" } })).toEqual([
      "/usr/lib/qemu/virtiofsd", "--socket-path=/i,j/virtiofsd-0.sock", "-o", "source=/srv/x\\,source=/", "-o", "cache=auto",
    ]);
    expect(virtiofsdCommand({ ...input, binary: { path: "/usr/libexec/virtiofsd", flavour: "rust" } })).toContain("--shared-dir=/srv/x,source=/");
  });
});

describe("subordinateRange", () => {
  test.each([
    { name: "a range named by login name", text: "alice:100000:65536\ndentest:165536:65536\n", want: { start: 165536, count: 65536 } },
    { name: "a range named by numeric id", text: "1001:200000:1000\n", want: { start: 200000, count: 1000 } },
    { name: "the first of two ranges", text: "dentest:300000:10\ndentest:400000:10\n", want: { start: 300000, count: 10 } },
    { name: "no range for the user", text: "alice:100000:65536\n", want: undefined },
    { name: "a range of zero ids", text: "dentest:100000:0\n", want: undefined },
    { name: "a malformed line", text: "dentest:abc\n", want: undefined },
  ])("subordinateRange() finds $name", ({ text, want }) => {
    expect(subordinateRange(text, { name: "dentest", id: 1001 })).toEqual(want);
  });
});

describe("virtiofsdLaunchPlan", () => {
  const helpWithMapGroups = " --map-groups=<outergid>,<innergid>,<count>\n";
  const ordinary: VirtiofsdHostFacts = {
    flavour: "c",
    uid: 1001,
    userName: "dentest",
    unshare: "/usr/bin/unshare",
    unshareHelp: helpWithMapGroups,
    newgidmap: "/usr/bin/newgidmap",
    subgid: "dentest:100000:65536\n",
  };

  test.each([
    { name: "root keeps the plain namespace", facts: { ...ordinary, uid: 0, newgidmap: undefined, subgid: undefined }, want: { unshare: "/usr/bin/unshare" } },
    { name: "root without unshare runs the daemon directly", facts: { ...ordinary, uid: 0, unshare: undefined }, want: { unshare: undefined } },
    { name: "an ordinary user gets a subordinate gid and hands the C daemon its socket", facts: ordinary, want: { unshare: "/usr/bin/unshare", subordinateGid: 100000, listenFd: 3 } },
    { name: "an ordinary user lets the Rust daemon make its own socket", facts: { ...ordinary, flavour: "rust" as const }, want: { unshare: "/usr/bin/unshare", subordinateGid: 100000 } },
  ])("virtiofsdLaunchPlan(): $name", ({ facts, want }) => {
    expect(virtiofsdLaunchPlan(facts)).toEqual(want);
  });

  test.each([
    { name: "no unshare", facts: { ...ordinary, unshare: undefined }, message: /util-linux unshare 2\.38 or later.*none is on PATH/, hint: /mountType: 9p/ },
    { name: "an unshare without --map-groups", facts: { ...ordinary, unshareHelp: " --map-user=<uid>\n" }, message: /util-linux unshare 2\.38 or later \(with --map-groups\)$/, hint: /install util-linux/ },
    { name: "no newgidmap", facts: { ...ordinary, newgidmap: undefined }, message: /newgidmap is missing/, hint: /apt-get install uidmap/ },
    { name: "no /etc/subgid", facts: { ...ordinary, subgid: undefined }, message: /\/etc\/subgid gives it no subordinate group IDs/, hint: /usermod --add-subgids 100000-165535 dentest/ },
    { name: "no range for the user", facts: { ...ordinary, subgid: "alice:100000:65536\n" }, message: /as user "dentest"/, hint: /mountType: reverse-sshfs/ },
  ])("virtiofsdLaunchPlan() refuses an ordinary user with $name", ({ facts, message, hint }) => {
    const error = caughtDenError(() => virtiofsdLaunchPlan(facts));
    expect(error.code).toBe("HOST_TOOL_MISSING");
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(hint);
  });
});

describe("virtiofsdAccessCheck", () => {
  const binary = { path: "/usr/libexec/virtiofsd", flavour: "rust" as const };
  test("virtiofsdAccessCheck() runs a listing test behind the daemon's namespace prefix, and nothing for a daemon run directly", () => {
    const inNamespace = virtiofsdCommand({ binary, socketPath: "/i/virtiofsd-0.sock", location: "/srv/x y", guest: { uid: 1000, gid: 1000 }, unshare: "/usr/bin/unshare" });
    expect(virtiofsdAccessCheck(inNamespace, "/srv/x y")).toEqual([
      "/usr/bin/unshare", "--user", "--map-user=1000", "--map-group=1000", "--keep-caps", "--",
      "/bin/sh", "-c", 'test -r "$1" && test -x "$1"', "sh", "/srv/x y",
    ]);
    const direct = virtiofsdCommand({ binary, socketPath: "/i/virtiofsd-0.sock", location: "/srv/x", guest: { uid: 1000, gid: 1000 }, unshare: undefined });
    expect(virtiofsdAccessCheck(direct, "/srv/x")).toBeUndefined();
  });

  // The real namespace: even root, mapped to the guest uid, cannot list a folder of another owner with mode 0700.
  test.if(process.getuid?.() === 0 && Bun.which("unshare") !== null)("virtiofsdAccessCheck() run for real tells a folder of another owner, mode 0700, from an open one", () => {
    const dir = mkdtempSync(join(tmpdir(), "vfs-access-"));
    try {
      chmodSync(dir, 0o755);
      const open = join(dir, "open");
      const closed = join(dir, "closed");
      mkdirSync(open, { mode: 0o755 });
      mkdirSync(closed, { mode: 0o700 });
      chownSync(closed, 12345, 12345);
      const exitCode = (location: string) => {
        const argv = virtiofsdCommand({ binary, socketPath: join(dir, "s"), location, guest: { uid: 1000, gid: 1000 }, unshare: Bun.which("unshare") ?? "unshare" });
        return Bun.spawnSync(virtiofsdAccessCheck(argv, location) ?? []).exitCode;
      };
      expect({ open: exitCode(open), closed: exitCode(closed) }).toEqual({ open: 0, closed: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
