// cidata/boot/linux/45-install-containerd.sh run through boot.sh in a fake root (see boot-fixture.ts): the archive is
// extracted under the install prefix once per archive, the configuration files are written, and every problem is a
// WARNING and a failed boot script. Starting services and the rootless setup need a real guest (tests/e2e/containerd.test.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBootFixture, writeFakeBin } from "./boot-fixture.ts";

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

const Layout = {
  "bin/containerd": "#!/bin/sh\n",
  "bin/containerd-rootless-setuptool.sh": "#!/bin/sh\n",
  "lib/systemd/system/containerd.service": "[Service]\nExecStart=/usr/local/bin/containerd\n",
};

function fixture(env: Record<string, string | undefined>, archive: { path: string } | undefined) {
  const fx = makeBootFixture({ scripts: [Script], env: { CONTAINERD_ARCHIVE: archive ? "nerdctl-full.tgz" : "", ...env } });
  if (archive) writeFileSync(join(fx.seed, "nerdctl-full.tgz"), readFileSync(archive.path));
  return fx;
}

describe("linux/45-install-containerd.sh", () => {
  test.each([
    { name: "user containerd", env: { CONTAINERD_USER: "1" }, files: ["home/tester.guest/.config/containerd/config.toml"], absent: ["etc/containerd/config.toml"] },
    { name: "system containerd", env: { CONTAINERD_SYSTEM: "1" }, files: ["etc/containerd/config.toml"], absent: ["home/tester.guest/.config/containerd/config.toml"] },
    { name: "both", env: { CONTAINERD_SYSTEM: "1", CONTAINERD_USER: "1" }, files: ["etc/containerd/config.toml", "home/tester.guest/.config/containerd/config.toml"], absent: [] },
  ])("45-install-containerd.sh extracts the archive for $name once, and skips it on the next boot", async ({ env, files, absent }) => {
    const archive = makeArchive(Layout);
    await using fx = fixture(env, archive);
    const first = fx.boot();
    expect({ exitCode: first.exitCode, stdout: first.stdout }).toMatchObject({ exitCode: 0 });
    expect(first.console).toContain(`DEN| installed containerd archive sha256:${archive.sha256} into /usr/local`);
    expect(fx.read("usr/local/bin/containerd")).toBe("#!/bin/sh\n");
    expect(fx.read("usr/local/share/den/containerd-archive.sha256")).toBe(`${archive.sha256}\n`);
    for (const path of files) expect(fx.read(path)).toStartWith("version = 2\n");
    for (const path of absent) expect(fx.read(path)).toBeUndefined();
    const marker = statSync(join(fx.root, "usr/local/share/den/containerd-archive.sha256")).mtimeMs;
    writeFileSync(join(fx.root, "usr/local/bin/containerd"), "changed by the user\n");

    const second = fx.boot();
    expect(second.exitCode).toBe(0);
    expect(second.console).toContain(`DEN| containerd archive sha256:${archive.sha256} is already installed in /usr/local: skipped extraction`);
    expect(second.console).not.toContain("installed containerd archive");
    expect(statSync(join(fx.root, "usr/local/share/den/containerd-archive.sha256")).mtimeMs).toBe(marker);
    expect(fx.read("usr/local/bin/containerd")).toBe("changed by the user\n");
  });

  test("45-install-containerd.sh extracts a different archive over the installed one", async () => {
    const [old, next] = [makeArchive(Layout), makeArchive({ ...Layout, "bin/containerd": "#!/bin/sh\necho v2\n" })];
    await using fx = fixture({ CONTAINERD_USER: "1" }, old);
    expect(fx.boot().exitCode).toBe(0);
    writeFileSync(join(fx.seed, "nerdctl-full.tgz"), readFileSync(next.path));
    const run = fx.boot();
    expect(run.exitCode).toBe(0);
    expect(run.console).toContain(`DEN| installed containerd archive sha256:${next.sha256} into /usr/local`);
    expect(fx.read("usr/local/bin/containerd")).toBe("#!/bin/sh\necho v2\n");
    expect(fx.read("usr/local/share/den/containerd-archive.sha256")).toBe(`${next.sha256}\n`);
  });

  test.each([
    { name: "does nothing when containerd is off", env: {}, archive: true, exitCode: 0, console: undefined, installed: false },
    { name: "installs under DEN_CIDATA_GUEST_INSTALL_PREFIX", env: { CONTAINERD_USER: "1", GUEST_INSTALL_PREFIX: "/opt/den" }, archive: true, exitCode: 0, console: "into /opt/den", installed: true },
    {
      name: "fails visibly when the seed carries no archive",
      env: { CONTAINERD_USER: "1" },
      archive: false,
      exitCode: 1,
      console: "DEN| WARNING containerd: containerd.system or containerd.user is on, but the seed carries no archive",
      installed: false,
    },
  ])("45-install-containerd.sh $name", async ({ env, archive, exitCode, console, installed }) => {
    const made = makeArchive(Layout);
    await using fx = fixture(env, archive ? made : undefined);
    const run = fx.boot();
    expect(run.exitCode).toBe(exitCode);
    if (console) expect(run.console).toContain(console);
    if (exitCode !== 0) expect(run.console).toContain(`DEN| WARNING ${Script} failed (exit 1)`);
    const prefix = "GUEST_INSTALL_PREFIX" in env ? "opt/den" : "usr/local";
    expect(fx.read(`${prefix}/bin/containerd`) !== undefined).toBe(installed);
  });

  test.each([
    { name: "an archive that is not a tar file", files: undefined, env: { CONTAINERD_USER: "1" }, warning: "cannot extract nerdctl-full.tgz into /usr/local" },
    { name: "an archive without containerd.service", files: { "bin/containerd": "#!/bin/sh\n" }, env: { CONTAINERD_SYSTEM: "1" }, warning: "the archive has no lib/systemd/system/containerd.service" },
    { name: "an archive without the rootless setup tool", files: { "bin/containerd": "#!/bin/sh\n" }, env: { CONTAINERD_USER: "1" }, warning: "the archive has no bin/containerd-rootless-setuptool.sh" },
  ])("45-install-containerd.sh fails the boot script with a WARNING for $name", async ({ files, env, warning }) => {
    const archive = files ? makeArchive(files) : { path: join(work, "garbage.tgz") };
    if (!files) writeFileSync(archive.path, "not a tar file at all\n");
    await using fx = fixture(env, archive);
    const run = fx.boot();
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain(`DEN| WARNING containerd: ${warning}`);
    expect(run.stderr).toContain(`den: containerd: ${warning}`);
    expect(fx.read("usr/local/share/den/containerd-archive.sha256") !== undefined).toBe(files !== undefined);
  });

  test("45-install-containerd.sh writes buildkitd.toml for a system containerd when the archive has buildkitd", async () => {
    const archive = makeArchive({ ...Layout, "bin/buildkitd": "#!/bin/sh\n", "lib/systemd/system/buildkit.service": "[Service]\n" });
    await using fx = fixture({ CONTAINERD_SYSTEM: "1" }, archive);
    expect(fx.boot().exitCode).toBe(0);
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
