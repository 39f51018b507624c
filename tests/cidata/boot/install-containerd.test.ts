// cidata/boot/linux/45-install-containerd.sh run through boot.sh in a fake root (see boot-fixture.ts): the archive is
// extracted from the DENCONTAINERD disk under the install prefix once per archive (the seed names its sha256), the
// configuration files are written, and every problem is a WARNING and a failed boot script. DEN_CONTAINERD_MNT stands
// in for the mounted disk, and fake mount/umount/blkid for the real ones. Starting services, the rootless setup and
// the real disk need a real guest (tests/e2e/containerd.test.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote } from "../../../lib/shell/quote.ts";
import { stepLines, writeExecutable, writeTraceShims } from "./agent-fixture.ts";
import { type BootFixture, makeBootFixture, writeFakeBin } from "./boot-fixture.ts";

const Script = "boot/linux/45-install-containerd.sh";
const work = mkdtempSync(join(tmpdir(), "den-containerd-boot-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let archives = 0;
/** A .tar.gz in the nerdctl-full layout holding `files` (path → text), all mode 0755. */
function makeArchive(files: Record<string, string>): { path: string; sha256: string } {
  const tree = join(work, `tree-${++archives}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(tree, path, ".."), { recursive: true });
    writeFileSync(join(tree, path), text, { mode: 0o755 });
  }
  const path = join(work, `archive-${archives}.tgz`);
  const child = Bun.spawnSync(["tar", "-C", tree, "-czf", path, "."]);
  if (child.exitCode !== 0) throw new Error(child.stderr.toString());
  return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
}

/** A file that is no tar archive, with its sha256. */
function garbageArchive(): { path: string; sha256: string } {
  const path = join(work, "garbage.tgz");
  writeFileSync(path, "not a tar file at all\n");
  return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
}

const Layout = {
  "bin/containerd": "#!/bin/sh\n",
  "bin/containerd-rootless-setuptool.sh": "#!/bin/sh\n",
  "lib/systemd/system/containerd.service": "[Service]\nExecStart=/usr/local/bin/containerd\n",
};

/** The DENCONTAINERD disk's files in `dir`: nerdctl-full.tgz (a copy of `archive`) and nerdctl-full.tgz.sha256. */
function makeArchiveDisk(dir: string, archive: { path: string; sha256: string } | undefined, sha256 = archive?.sha256): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (archive) writeFileSync(join(dir, "nerdctl-full.tgz"), readFileSync(archive.path));
  if (sha256) writeFileSync(join(dir, "nerdctl-full.tgz.sha256"), `${sha256}\n`);
  return dir;
}

/** A guest whose seed names `archive` (by its sha256) and whose disk (DEN_CONTAINERD_MNT) carries it. */
function fixture(env: Record<string, string | undefined>, archive: { sha256: string } | undefined, rootFiles: Record<string, string> = {}) {
  return makeBootFixture({
    scripts: [Script],
    env: { CONTAINERD_ARCHIVE: archive ? "nerdctl-full.tgz" : "", CONTAINERD_ARCHIVE_SHA256: archive?.sha256 ?? "", ...env },
    rootFiles,
  });
}

function bootWithDisk(fx: BootFixture, archive: { path: string; sha256: string }, extraEnv: Record<string, string> = {}) {
  return fx.boot({ DEN_CONTAINERD_MNT: makeArchiveDisk(join(fx.dir, "disk"), archive), ...extraEnv });
}

/** Fake mount (logs, fills the mount point from `disk`), umount (logs, empties it) and blkid (runs `blkid`) in `dir`. */
function writeMountTools(dir: string, tools: { disk?: string; log: string; blkid: string; mount?: string }): void {
  const log = shellQuote(tools.log);
  const fill = tools.disk ? `cp ${shellQuote(tools.disk)}/* "\${@: -1}"` : "true";
  writeExecutable(join(dir, "mount"), `#!/bin/bash\necho "mount $*" >>${log}\n${tools.mount ?? fill}\n`);
  writeExecutable(join(dir, "umount"), `#!/bin/bash\necho "umount $*" >>${log}\nrm -f "$1"/*\n`);
  writeExecutable(join(dir, "blkid"), `#!/bin/bash\n${tools.blkid}\n`);
}

describe("linux/45-install-containerd.sh", () => {
  test.each([
    { name: "user containerd", env: { CONTAINERD_USER: "1" }, files: ["home/tester.guest/.config/containerd/config.toml"], absent: ["etc/containerd/config.toml"] },
    { name: "system containerd", env: { CONTAINERD_SYSTEM: "1" }, files: ["etc/containerd/config.toml"], absent: ["home/tester.guest/.config/containerd/config.toml"] },
    { name: "both", env: { CONTAINERD_SYSTEM: "1", CONTAINERD_USER: "1" }, files: ["etc/containerd/config.toml", "home/tester.guest/.config/containerd/config.toml"], absent: [] },
  ])("45-install-containerd.sh extracts the archive for $name once, and the next boot mounts nothing, hashes nothing and extracts nothing", async ({ env, files, absent }) => {
    const archive = makeArchive(Layout);
    await using fx = fixture(env, archive);
    const first = bootWithDisk(fx, archive);
    expect({ exitCode: first.exitCode, stdout: first.stdout }).toMatchObject({ exitCode: 0 });
    expect(first.console).toContain(`DEN| installed containerd archive sha256:${archive.sha256} into /usr/local`);
    expect(fx.read("usr/local/bin/containerd")).toBe("#!/bin/sh\n");
    expect(fx.read("usr/local/share/den/containerd-archive.sha256")).toBe(`${archive.sha256}\n`);
    for (const path of files) expect(fx.read(path)).toStartWith("version = 2\n");
    for (const path of absent) expect(fx.read(path)).toBeUndefined();
    const marker = statSync(join(fx.root, "usr/local/share/den/containerd-archive.sha256")).mtimeMs;
    writeFileSync(join(fx.root, "usr/local/bin/containerd"), "changed by the user\n");

    // No DEN_CONTAINERD_MNT and no disk: a second boot that reached for the disk would fail.
    const shims = join(fx.dir, "trace");
    writeTraceShims(shims, ["mount", "umount", "blkid", "tar", "sha256sum", "cat", "cp", "mv", "mkdir", "dirname", "id"]);
    const second = fx.boot({ PATH: `${shims}:${process.env.PATH}` });
    expect(second.exitCode).toBe(0);
    expect(second.console).toContain(`DEN| containerd archive sha256:${archive.sha256} is already installed in /usr/local: skipped extraction`);
    expect(second.console).not.toContain("installed containerd archive");
    const traced = stepLines(second.console, Script).filter((line) => line.startsWith("TRACE "));
    // `id -u` is boot.sh's den_real_guest: it shows the shims are on the script's PATH.
    expect(traced).toContain("TRACE id -u");
    expect(traced.filter((line) => /^TRACE (mount|umount|blkid|tar|sha256sum|cat|cp|mv)\b/.test(line))).toEqual([]);
    expect(statSync(join(fx.root, "usr/local/share/den/containerd-archive.sha256")).mtimeMs).toBe(marker);
    expect(fx.read("usr/local/bin/containerd")).toBe("changed by the user\n");
  });

  test("45-install-containerd.sh extracts a different archive over the installed one", async () => {
    const [old, next] = [makeArchive(Layout), makeArchive({ ...Layout, "bin/containerd": "#!/bin/sh\necho v2\n" })];
    await using fx = fixture({ CONTAINERD_USER: "1" }, old);
    expect(bootWithDisk(fx, old).exitCode).toBe(0);
    // The next den start names another archive in the seed and attaches its disk.
    const env = readFileSync(join(fx.seed, "den.env"), "utf8").replace(old.sha256, next.sha256);
    writeFileSync(join(fx.seed, "den.env"), env);
    const run = bootWithDisk(fx, next);
    expect(run.exitCode).toBe(0);
    expect(run.console).toContain(`DEN| installed containerd archive sha256:${next.sha256} into /usr/local`);
    expect(fx.read("usr/local/bin/containerd")).toBe("#!/bin/sh\necho v2\n");
    expect(fx.read("usr/local/share/den/containerd-archive.sha256")).toBe(`${next.sha256}\n`);
  });

  test.each([
    { name: "the udev link", link: true, blkid: "exit 2" },
    { name: "blkid -L", link: false, blkid: 'printf "/dev/vdd\\n"' },
  ])("45-install-containerd.sh mounts the DENCONTAINERD disk found through $name read-only, extracts from it and unmounts it", async ({ link, blkid }) => {
    const archive = makeArchive(Layout);
    await using fx = fixture({ CONTAINERD_USER: "1" }, archive, link ? { "dev/disk/by-label/DENCONTAINERD": "" } : {});
    const tools = join(fx.dir, "tools");
    const log = join(fx.dir, "log");
    writeMountTools(tools, { disk: makeArchiveDisk(join(fx.dir, "disk"), archive), log, blkid });
    const run = fx.boot({ PATH: `${tools}:${process.env.PATH}` });
    expect(run.console).not.toContain("WARNING");
    expect(run.exitCode).toBe(0);
    expect(run.console).toContain(`DEN| installed containerd archive sha256:${archive.sha256} into /usr/local`);
    const mountPoint = join(fx.root, "run/den/containerd");
    const dev = link ? join(fx.root, "dev/disk/by-label/DENCONTAINERD") : "/dev/vdd";
    expect(readFileSync(log, "utf8")).toBe(`mount -t iso9660 -o ro ${dev} ${mountPoint}\numount ${mountPoint}\n`);
    expect(existsSync(mountPoint)).toBe(false);
    expect(fx.read("usr/local/bin/containerd")).toBe("#!/bin/sh\n");
  });

  test.each([
    { name: "does nothing when containerd is off", env: {}, archive: true, exitCode: 0, console: undefined, installed: false },
    { name: "installs under DEN_CIDATA_GUEST_INSTALL_PREFIX", env: { CONTAINERD_USER: "1", GUEST_INSTALL_PREFIX: "/opt/den" }, archive: true, exitCode: 0, console: "into /opt/den", installed: true },
    {
      name: "fails visibly when the seed names no archive",
      env: { CONTAINERD_USER: "1" },
      archive: false,
      exitCode: 1,
      console: "DEN| WARNING containerd: containerd.system or containerd.user is on, but the seed names no archive (DEN_CIDATA_CONTAINERD_ARCHIVE=<empty>, DEN_CIDATA_CONTAINERD_ARCHIVE_SHA256=<empty>)",
      installed: false,
    },
    {
      name: "fails visibly when the seed's sha256 is not one",
      env: { CONTAINERD_USER: "1", CONTAINERD_ARCHIVE_SHA256: "abc" },
      archive: true,
      exitCode: 1,
      console: "DEN_CIDATA_CONTAINERD_ARCHIVE=nerdctl-full.tgz, DEN_CIDATA_CONTAINERD_ARCHIVE_SHA256=abc)",
      installed: false,
    },
  ])("45-install-containerd.sh $name", async ({ env, archive, exitCode, console, installed }) => {
    const made = makeArchive(Layout);
    await using fx = fixture(env, archive ? made : undefined);
    const run = bootWithDisk(fx, made);
    expect(run.exitCode).toBe(exitCode);
    if (console) expect(run.console).toContain(console);
    if (exitCode !== 0) expect(run.console).toContain(`DEN| WARNING ${Script} failed (exit 1)`);
    const prefix = "GUEST_INSTALL_PREFIX" in env ? "opt/den" : "usr/local";
    expect(fx.read(`${prefix}/bin/containerd`) !== undefined).toBe(installed);
  });

  const other = "e".repeat(64);
  test.each([
    {
      name: "no disk is labelled DENCONTAINERD",
      tools: { blkid: "exit 2" },
      warning: (sha: string) => `no disk labelled DENCONTAINERD (den's containerd archive, sha256 ${sha}) is attached; den start attaches it, see the host agent log`,
      mounts: "",
    },
    {
      name: "the disk cannot be mounted",
      tools: { blkid: "echo /dev/vdd", mount: "echo \"mount: /dev/vdd: can't read superblock.\" >&2\nexit 32" },
      warning: (sha: string) => `cannot mount the DENCONTAINERD disk /dev/vdd (containerd archive sha256 ${sha}): mount: /dev/vdd: can't read superblock.`,
      mounts: "mount -t iso9660 -o ro /dev/vdd ROOT/run/den/containerd\n",
    },
    {
      name: "the disk carries another archive",
      tools: { blkid: "echo /dev/vdd" },
      diskSha: other,
      warning: (sha: string) => `the DENCONTAINERD disk does not carry the containerd archive the seed names (nerdctl-full.tgz, sha256 ${sha}; the disk's nerdctl-full.tgz.sha256: ${other})`,
      mounts: "mount -t iso9660 -o ro /dev/vdd ROOT/run/den/containerd\numount ROOT/run/den/containerd\n",
    },
    {
      name: "the disk has no archive",
      tools: { blkid: "echo /dev/vdd" },
      noArchive: true,
      warning: (sha: string) => `the DENCONTAINERD disk does not carry the containerd archive the seed names (nerdctl-full.tgz, sha256 ${sha}; the disk's nerdctl-full.tgz.sha256: ${sha})`,
      mounts: "mount -t iso9660 -o ro /dev/vdd ROOT/run/den/containerd\numount ROOT/run/den/containerd\n",
    },
  ])("45-install-containerd.sh fails with a WARNING naming the label and the sha256, and installs nothing, when $name", async ({ tools, diskSha, noArchive, warning, mounts }) => {
    const archive = makeArchive(Layout);
    await using fx = fixture({ CONTAINERD_USER: "1" }, archive);
    const disk = join(fx.dir, "disk");
    makeArchiveDisk(disk, noArchive ? undefined : archive, diskSha ?? archive.sha256);
    const bin = join(fx.dir, "tools");
    const log = join(fx.dir, "log");
    writeMountTools(bin, { disk, log, ...tools });
    const run = fx.boot({ PATH: `${bin}:${process.env.PATH}` });
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain(`DEN| WARNING containerd: ${warning(archive.sha256)}\n`);
    expect(run.stderr).toContain(`den: containerd: ${warning(archive.sha256)}\n`);
    expect(run.console).toContain(`DEN| WARNING ${Script} failed (exit 1)`);
    expect(existsSync(log) ? readFileSync(log, "utf8") : "").toBe(mounts.replaceAll("ROOT", fx.root));
    expect(existsSync(join(fx.root, "run/den/containerd"))).toBe(false);
    expect(fx.read("usr/local/bin/containerd")).toBeUndefined();
    expect(fx.read("usr/local/share/den/containerd-archive.sha256")).toBeUndefined();
  });

  test.each([
    { name: "an archive that is not a tar file", files: undefined, env: { CONTAINERD_USER: "1" }, warning: (sha: string) => `cannot extract nerdctl-full.tgz (sha256 ${sha}) from the DENCONTAINERD disk into /usr/local` },
    { name: "an archive without containerd.service", files: { "bin/containerd": "#!/bin/sh\n" }, env: { CONTAINERD_SYSTEM: "1" }, warning: () => "the archive has no lib/systemd/system/containerd.service" },
    { name: "an archive without the rootless setup tool", files: { "bin/containerd": "#!/bin/sh\n" }, env: { CONTAINERD_USER: "1" }, warning: () => "the archive has no bin/containerd-rootless-setuptool.sh" },
  ])("45-install-containerd.sh fails the boot script with a WARNING for $name", async ({ files, env, warning }) => {
    const archive = files ? makeArchive(files) : garbageArchive();
    await using fx = fixture(env, archive);
    const run = bootWithDisk(fx, archive);
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain(`DEN| WARNING containerd: ${warning(archive.sha256)}`);
    expect(run.stderr).toContain(`den: containerd: ${warning(archive.sha256)}`);
    expect(fx.read("usr/local/share/den/containerd-archive.sha256") !== undefined).toBe(files !== undefined);
  });

  test("45-install-containerd.sh writes buildkitd.toml for a system containerd when the archive has buildkitd", async () => {
    const archive = makeArchive({ ...Layout, "bin/buildkitd": "#!/bin/sh\n", "lib/systemd/system/buildkit.service": "[Service]\n" });
    await using fx = fixture({ CONTAINERD_SYSTEM: "1" }, archive);
    expect(bootWithDisk(fx, archive).exitCode).toBe(0);
    expect(fx.read("etc/buildkit/buildkitd.toml")).toContain('[worker.containerd]\n  enabled = true\n  namespace = "default"\n  snapshotter = "overlayfs"\n');
  });
});

describe("linux/30-install-packages.sh for containerd", () => {
  // PATH holds only fake programs and the few tools boot.sh needs, so the host's own iptables or newuidmap do not count.
  const Tools = ["bash", "dirname", "basename", "mkdir", "rm", "cat", "ls"];
  test.each([
    { name: "user containerd without newuidmap, iptables and fuse3: as Lima, uidmap, iptables, fuse3, dbus-user-session", env: { CONTAINERD_USER: "1" }, present: [], want: "fuse3 iptables uidmap dbus-user-session" },
    { name: "system containerd without iptables: iptables only", env: { CONTAINERD_SYSTEM: "1" }, present: [], want: "iptables" },
    { name: "user containerd with everything present: nothing", env: { CONTAINERD_USER: "1" }, present: ["iptables", "newuidmap", "fusermount3"], want: undefined },
    { name: "containerd off: nothing", env: {}, present: [], want: undefined },
  ])("30-install-packages.sh installs for $name", async ({ env, present, want }) => {
    await using fx = makeBootFixture({ scripts: ["boot/linux/30-install-packages.sh"], env });
    const bin = join(fx.dir, "bin");
    const log = join(fx.dir, "calls");
    mkdirSync(bin, { recursive: true });
    for (const tool of Tools) Bun.spawnSync(["ln", "-s", Bun.which(tool)!, join(bin, tool)]);
    writeFakeBin(bin, "apt-get", { log });
    for (const name of present) writeFakeBin(bin, name, { log: join(fx.dir, "unused") });
    const run = fx.boot({ PATH: bin });
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toMatchObject({ exitCode: 0 });
    const calls = existsSync(log) ? readFileSync(log, "utf8").trimEnd().split("\n") : [];
    expect(calls).toEqual(want === undefined ? [] : ["apt-get update -q", `apt-get install -y -q --no-upgrade --no-install-recommends ${want}`]);
  });
});
