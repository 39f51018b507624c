// cidata/boot/linux/*.sh, each run through boot.sh in a fake root (see boot-fixture.ts).
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readlinkSync, statSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { BootHookPath } from "../../../cidata/user-data.ts";
import { IID, makeBootFixture, writeFakeBin } from "./boot-fixture.ts";

const mounts = (...list: Array<[type: string, point: string]>) =>
  Object.fromEntries([
    ["MOUNTS", String(list.length)],
    ...list.flatMap(([type, point], i) => [
      [`MOUNTS_${i}_TYPE`, type],
      [`MOUNTS_${i}_MOUNTPOINT`, point],
      [`MOUNTS_${i}_WRITABLE`, ""],
    ]),
  ]) as Record<string, string>;

describe("linux/05-guest-home.sh", () => {
  test.each([
    { name: "links USER.linux to a USER.guest home", home: "/home/tester.guest", link: "home/tester.linux", target: "tester.guest" },
    { name: "links USER.guest to a USER.linux home", home: "/home/tester.linux", link: "home/tester.guest", target: "tester.linux" },
    { name: "leaves a plain home alone", home: "/home/tester", link: undefined, target: undefined },
  ])("05-guest-home.sh $name, also on the second boot", async ({ home, link, target }) => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/05-guest-home.sh"], env: { HOME: home } });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.boot().exitCode).toBe(0);
    if (link) expect(readlinkSync(join(fx.root, link))).toBe(target);
    else expect(existsSync(join(fx.root, "home/tester.linux")) || existsSync(join(fx.root, "home/tester.guest"))).toBe(false);
  });
});

describe("linux/06-etc-hosts.sh", () => {
  test.each([
    { name: "adds the host names to a file without them", before: "127.0.0.1\tlocalhost\n" },
    { name: "replaces stale host name lines", before: "127.0.0.1\tlocalhost\n192.168.5.2\thost.lima.internal\n10.9.9.9 other host.den.internal\n::1 ip6-localhost\n" },
    { name: "creates a missing file", before: undefined },
  ])("06-etc-hosts.sh $name, leaving one line after two boots", async ({ before }) => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/06-etc-hosts.sh"], rootFiles: before === undefined ? {} : { "etc/hosts": before } });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.boot().exitCode).toBe(0);
    const kept = (before ?? "").split("\n").filter((line) => line && !/host\.(den|lima)\.internal/.test(line));
    expect(fx.read("etc/hosts")).toBe([...kept, "10.0.2.2\thost.den.internal host.lima.internal"].join("\n") + "\n");
  });
});

describe("linux/07-etc-environment.sh", () => {
  const block = "#DEN-START\nFOO=new value\n#DEN-END\n";
  test.each([
    { name: "appends den's block to the user's lines", before: "PATH=/usr/bin\n", seed: block, want: `PATH=/usr/bin\n${block}` },
    { name: "replaces the previous block and keeps lines around it", before: `A=1\n#DEN-START\nFOO=old\n#DEN-END\nB=2\n`, seed: block, want: `A=1\nB=2\n${block}` },
    { name: "removes the block when the seed has none", before: `A=1\n#DEN-START\nFOO=old\n#DEN-END\n`, seed: undefined, want: "A=1\n" },
    { name: "creates the file", before: undefined, seed: block, want: block },
  ])("07-etc-environment.sh $name and writes den-ssh-ready", async ({ before, seed, want }) => {
    await using fx = makeBootFixture({
      scripts: ["boot/linux/07-etc-environment.sh"],
      seed: seed === undefined ? {} : { etc_environment: seed },
      rootFiles: before === undefined ? {} : { "etc/environment": before },
    });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read("etc/environment")).toBe(want);
    expect(fx.read("run/den-ssh-ready")).toBe(`${IID}\n`);
  });
});

describe("linux/08-boot-beside-init.sh", () => {
  const unit = "etc/systemd/system/den-boot-early.service";
  const wants = "etc/systemd/system/multi-user.target.wants/den-boot-early.service";
  const systemdGuest = { "run/systemd/system/.keep": "" };

  test("08-boot-beside-init.sh installs den-boot-early.service running cloud-init's per-boot hook after cloud-init-local, enabled by a link, once", async () => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/08-boot-beside-init.sh"], env: { BOOT_BESIDE_INIT: "1" }, rootFiles: systemdGuest });
    const first = fx.boot();
    expect(first.exitCode).toBe(0);
    expect(first.console).toContain("DEN| wrote /etc/systemd/system/den-boot-early.service");
    const text = fx.read(unit) ?? "";
    expect(text).toContain(`ExecStart=/bin/sh -c '${BootHookPath} 2>&1 | tee -a /var/log/cloud-init-output.log'`);
    expect(text).toContain(`ConditionPathExists=${BootHookPath}\n`);
    expect(text).toContain("Environment=DEN_BOOT_EARLY=1 DEN_BOOT_BESIDE_INIT=1\n");
    expect(text).toContain("DefaultDependencies=no\nAfter=local-fs.target cloud-init-local.service\n");
    // Never ordered against cloud-init's later stages: boot.sh starts them and waits, which an ordering would deadlock.
    expect(text.split("\n").filter((line) => /^(Before|After|Wants|Requires)=/.test(line))).toEqual([
      "After=local-fs.target cloud-init-local.service",
      "Before=shutdown.target",
    ]);
    expect(readlinkSync(join(fx.root, wants))).toBe("../den-boot-early.service");
    const again = fx.boot();
    expect(again.exitCode).toBe(0);
    expect(again.console).not.toContain("den-boot-early");
  });

  test("08-boot-beside-init.sh removes the unit when the seed does not allow it, and does nothing without systemd", async () => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/08-boot-beside-init.sh"], env: { BOOT_BESIDE_INIT: "" }, rootFiles: { ...systemdGuest, [unit]: "[Unit]\n" } });
    mkdirSync(dirname(join(fx.root, wants)), { recursive: true });
    symlinkSync("../den-boot-early.service", join(fx.root, wants));
    const removed = fx.boot();
    expect(removed.exitCode).toBe(0);
    expect(removed.console).toContain("DEN| removed den-boot-early.service");
    expect(fx.read(unit)).toBeUndefined();
    expect(() => lstatSync(join(fx.root, wants))).toThrow();
    await using openrc = makeBootFixture({ scripts: ["boot/linux/08-boot-beside-init.sh"], env: { BOOT_BESIDE_INIT: "1" } });
    expect(openrc.boot().exitCode).toBe(0);
    expect(openrc.read(unit)).toBeUndefined();
  });
});

describe("linux/20-rootless-base.sh", () => {
  test.each([
    { name: "adds subordinate ids from 524288", uid: "1000", before: undefined, want: "tester:524288:1073741824\n" },
    { name: "starts the range above a uid inside it", uid: "600000", before: undefined, want: "tester:600001:1073741824\n" },
    { name: "keeps an existing entry", uid: "1000", before: "other:100000:65536\ntester:100000:65536\n", want: "other:100000:65536\ntester:100000:65536\n" },
    { name: "does not mistake a longer name for the user", uid: "1000", before: "tester2:100000:65536\n", want: "tester2:100000:65536\ntester:524288:1073741824\n" },
  ])("20-rootless-base.sh $name, once across two boots", async ({ uid, before, want }) => {
    await using fx = makeBootFixture({
      scripts: ["boot/linux/20-rootless-base.sh"],
      env: { UID: uid },
      rootFiles: before === undefined ? {} : { "etc/subuid": before, "etc/subgid": before },
    });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read("etc/subuid")).toBe(want);
    expect(fx.read("etc/subgid")).toBe(want);
    const sysctl = fx.read("etc/sysctl.d/99-den.conf") ?? "";
    expect(sysctl).toContain("net.ipv4.ping_group_range = 0 2147483647\n");
    expect(sysctl).toContain("net.ipv4.ip_unprivileged_port_start=0\n");
    expect(sysctl.includes("kernel.unprivileged_userns_clone=1")).toBe(existsSync("/proc/sys/kernel/unprivileged_userns_clone"));
  });
});

describe("linux/30-install-packages.sh", () => {
  // The fake bin dir comes first in PATH: an apt-get there records its calls, so the host's is never run.
  test.each<{ name: string; env: Record<string, string>; present: string[]; aptExit: number; wantCalls: string[]; wantExit: number }>([
    { name: "no mounts: the package manager is not touched", env: mounts(), present: [], aptExit: 0, wantCalls: [], wantExit: 0 },
    { name: "only 9p mounts: the package manager is not touched", env: mounts(["9p", "/mnt/x"]), present: [], aptExit: 0, wantCalls: [], wantExit: 0 },
    {
      name: "reverse-sshfs with sshfs and fusermount3 present: the package manager is not touched",
      env: mounts(["reverse-sshfs", "/home/x"]), present: ["sshfs", "fusermount3"], aptExit: 0, wantCalls: [], wantExit: 0,
    },
    {
      name: "reverse-sshfs without sshfs and fuse3: apt-get installs both",
      env: mounts(["reverse-sshfs", "/home/x"]), present: [], aptExit: 0, wantExit: 0,
      wantCalls: ["apt-get update -q", "apt-get install -y -q --no-upgrade --no-install-recommends sshfs fuse3"],
    },
    {
      name: "reverse-sshfs without sshfs: only sshfs is installed",
      env: mounts(["reverse-sshfs", "/home/x"]), present: ["fusermount3"], aptExit: 0, wantExit: 0,
      wantCalls: ["apt-get update -q", "apt-get install -y -q --no-upgrade --no-install-recommends sshfs"],
    },
    {
      name: "an unreachable mirror fails the script without trying to install",
      env: mounts(["reverse-sshfs", "/home/x"]), present: ["fusermount3"], aptExit: 100, wantExit: 1, wantCalls: ["apt-get update -q"],
    },
    {
      name: "skipDefaultDependencyResolution installs nothing",
      env: { ...mounts(["reverse-sshfs", "/home/x"]), SKIP_DEFAULT_DEPENDENCY_RESOLUTION: "1" }, present: [], aptExit: 0, wantCalls: [], wantExit: 0,
    },
  ])("30-install-packages.sh: $name", async ({ env, present, aptExit, wantCalls, wantExit }) => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/30-install-packages.sh"], env });
    const bin = join(fx.dir, "bin");
    const log = join(fx.dir, "calls");
    writeFakeBin(bin, "apt-get", { log, exitCode: aptExit });
    for (const name of present) writeFakeBin(bin, name, { log: join(fx.dir, "unused") });
    const run = fx.boot({ PATH: `${bin}:${process.env.PATH}` });
    expect(run.exitCode).toBe(wantExit);
    const calls = existsSync(log) ? (await Bun.file(log).text()).trimEnd().split("\n") : [];
    expect(calls).toEqual(wantCalls);
  });

  test("30-install-packages.sh runs dependency scripts first and reports their failure", async () => {
    await using fx = makeBootFixture({
      scripts: ["boot/linux/30-install-packages.sh"],
      seed: {
        "provision.dependency/00000000": { text: `#!/bin/bash\necho dep0 >>"$DEN_BOOT_ROOT/order"\nexit 4\n`, mode: 0o755 },
        "provision.dependency/00000001": { text: `#!/bin/bash\necho dep1 >>"$DEN_BOOT_ROOT/order"\n`, mode: 0o755 },
        "provision.system/00000002": { text: `#!/bin/bash\necho system >>"$DEN_BOOT_ROOT/order"\n`, mode: 0o755 },
      },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(1);
    expect(fx.read("order")).toBe("dep0\ndep1\nsystem\n");
    expect(run.console).toContain("DEN| WARNING provision.dependency/00000000 failed (exit 4)\n");
    expect(run.console).toContain("DEN| WARNING boot/linux/30-install-packages.sh failed (exit 1)\n");
  });
});

describe("linux/35-setup-packages.sh", () => {
  test.each([
    { name: "adds user_allow_other to fuse.conf", env: mounts(["reverse-sshfs", "/home/x"]), rootFiles: { "etc/fuse.conf": "# mount_max = 1000\n" }, file: "etc/fuse.conf", want: "# mount_max = 1000\nuser_allow_other\n" },
    { name: "prefers fuse3.conf when it exists", env: mounts(["reverse-sshfs", "/home/x"]), rootFiles: { "etc/fuse3.conf": "" }, file: "etc/fuse3.conf", want: "user_allow_other\n" },
    { name: "keeps a file that already allows it", env: mounts(["reverse-sshfs", "/home/x"]), rootFiles: { "etc/fuse.conf": "user_allow_other\n" }, file: "etc/fuse.conf", want: "user_allow_other\n" },
    { name: "leaves fuse.conf alone without reverse-sshfs mounts", env: mounts(["9p", "/mnt/x"]), rootFiles: { "etc/fuse.conf": "" }, file: "etc/fuse.conf", want: "" },
  ])("35-setup-packages.sh $name and writes den-fuse-ready", async ({ env, rootFiles, file, want }) => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/35-setup-packages.sh"], env, rootFiles });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read(file)).toBe(want);
    expect(fx.read("run/den-fuse-ready")).toBe(`${IID}\n`);
  });

  const header = "# Generated by den. Delete this line to keep your own rules.";
  test.each([
    { name: "writes a rule per reverse-sshfs mount point", local: undefined, wantRules: true },
    { name: "regenerates its own file", local: `${header}\nstale\n`, wantRules: true },
    { name: "keeps a file the user wrote", local: "# mine\n", wantRules: false },
  ])("35-setup-packages.sh on AppArmor guests $name", async ({ local, wantRules }) => {
    await using fx = makeBootFixture({
      scripts: ["boot/linux/35-setup-packages.sh"],
      env: mounts(["reverse-sshfs", "/Users/me"], ["9p", "/mnt/nine"], ["reverse-sshfs", '/odd "quoted"']),
      rootFiles: { "etc/apparmor.d/fusermount3": "profile fusermount3 {}\n", ...(local === undefined ? {} : { "etc/apparmor.d/local/fusermount3": local }) },
    });
    expect(fx.boot().exitCode).toBe(0);
    const text = fx.read("etc/apparmor.d/local/fusermount3");
    if (!wantRules) return expect(text).toBe(local);
    expect(text).toBe(
      `${header}\n` +
        `mount fstype=@{fuse_types} options=(nosuid,nodev) options in (ro,rw,noatime,dirsync,nodiratime,noexec,sync) -> "/Users/me/",\n` +
        `umount "/Users/me/",\n`,
    );
  });
});

describe("linux/40-mounts-ready.sh", () => {
  test("40-mounts-ready.sh marks mounts ready at once when there are none", async () => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/40-mounts-ready.sh"], env: mounts() });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read("run/den-mounts-ready")).toBe(`${IID}\n`);
  });

  test("40-mounts-ready.sh creates reverse-sshfs mount points and does not wait for them", async () => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/40-mounts-ready.sh"], env: mounts(["reverse-sshfs", "/Users/me/dir with space"], ["reverse-sshfs", "/tmp/den"]) });
    expect(fx.boot().exitCode).toBe(0);
    expect(statSync(join(fx.root, "Users/me/dir with space")).isDirectory()).toBe(true);
    expect(statSync(join(fx.root, "tmp/den")).isDirectory()).toBe(true);
    expect(fx.read("run/den-mounts-ready")).toBe(`${IID}\n`);
  });

  test.each([
    { type: "9p", point: "/mnt/nine" },
    { type: "virtiofs", point: "/mnt/vfs dir" },
  ])("40-mounts-ready.sh names an unmounted $type mount and withholds den-mounts-ready", async ({ type, point }) => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/40-mounts-ready.sh"], env: mounts(["reverse-sshfs", "/home/x"], [type, point]) });
    const run = fx.boot();
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain(`DEN| WARNING mount ${point} (${type}) is not mounted\n`);
    expect(run.console).toContain("DEN| WARNING boot/linux/40-mounts-ready.sh failed (exit 1)\n");
    expect(fx.read("run/den-mounts-ready")).toBeUndefined();
    expect(fx.read("run/den-boot-done")).toBe(`${IID}\n`);
  });
});
