// A stand-in for nerdctl's nerdctl-full release archive, which cannot be downloaded on the machine the end-to-end
// tests run on. It has the nerdctl-full layout den's boot script relies on (bin/, libexec/cni/,
// lib/systemd/system/containerd.service, share/) and is assembled from Debian's own packages, fetched on the host
// with `apt-get download` and unpacked with `dpkg-deb -x`: containerd, runc, rootlesskit, slirp4netns and
// containernetworking-plugins. Two small scripts of ours (nerdctl-full-fixture/) stand in for nerdctl's
// containerd-rootless-setuptool.sh and containerd-rootless.sh. There is no nerdctl and no BuildKit in it.
// The archive is cached under the repository's .cache/, keyed by this file, the scripts and the package list.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

export interface NerdctlFullFixture {
  path: string;
  /** `sha256:<hex>` of the archive. */
  digest: string;
  size: number;
}

const Packages = ["containerd", "runc", "rootlesskit", "slirp4netns", "containernetworking-plugins"] as const;
const ScriptsDir = resolve(import.meta.dir, "nerdctl-full-fixture");
const StandIns = ["containerd-rootless-setuptool.sh", "containerd-rootless.sh"] as const;
const CacheRoot = resolve(import.meta.dir, "../../../.cache/nerdctl-full-fixture");
/** Debian's binaries, and where nerdctl-full keeps them. */
const Binaries: readonly [from: string, to: string][] = [
  ["usr/bin/containerd", "bin/containerd"],
  ["usr/bin/containerd-shim", "bin/containerd-shim"],
  ["usr/bin/containerd-shim-runc-v1", "bin/containerd-shim-runc-v1"],
  ["usr/bin/containerd-shim-runc-v2", "bin/containerd-shim-runc-v2"],
  ["usr/bin/ctr", "bin/ctr"],
  ["usr/sbin/runc", "bin/runc"],
  ["usr/bin/rootlesskit", "bin/rootlesskit"],
  ["usr/bin/rootlessctl", "bin/rootlessctl"],
  ["usr/bin/slirp4netns", "bin/slirp4netns"],
];

let pending: Promise<NerdctlFullFixture> | undefined;

/** Builds the archive once (per cache key) and returns it; later calls in the same process share the result. */
export function ensureNerdctlFullFixture(): Promise<NerdctlFullFixture> {
  pending ??= build();
  return pending;
}

async function build(): Promise<NerdctlFullFixture> {
  const key = createHash("sha256")
    .update(readFileSync(import.meta.path))
    .update(StandIns.map((name) => readFileSync(join(ScriptsDir, name), "utf8")).join("\n"))
    .digest("hex")
    .slice(0, 16);
  const path = join(CacheRoot, `nerdctl-full-den-fixture-${key}-linux-amd64.tar.gz`);
  if (!existsSync(path)) await assemble(path);
  const bytes = await readFile(path);
  return { path, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: (await stat(path)).size };
}

async function assemble(target: string): Promise<void> {
  await mkdir(CacheRoot, { recursive: true });
  const work = await mkdtemp(join(CacheRoot, ".build-"));
  try {
    const debs = join(work, "debs");
    const unpacked = join(work, "unpacked");
    const tree = join(work, "tree");
    await mkdir(debs);
    await mkdir(unpacked);
    // apt-get download runs as _apt where it can; a folder only root can write makes it fall back with a warning.
    await chmod(work, 0o755);
    await chmod(debs, 0o777);
    exec(["apt-get", "download", ...Packages], debs);
    for (const deb of await readdir(debs)) if (deb.endsWith(".deb")) exec(["dpkg-deb", "-x", join(debs, deb), unpacked], work);

    for (const [from, to] of Binaries) await place(join(unpacked, from), join(tree, to), 0o755);
    for (const plugin of await readdir(join(unpacked, "usr/lib/cni"))) await place(join(unpacked, "usr/lib/cni", plugin), join(tree, "libexec/cni", plugin), 0o755);
    for (const name of StandIns) await place(join(ScriptsDir, name), join(tree, "bin", name), 0o755);
    // Debian's unit runs /usr/bin/containerd; nerdctl-full's runs the copy under /usr/local.
    const unit = await readFile(join(unpacked, "lib/systemd/system/containerd.service"), "utf8");
    await mkdir(join(tree, "lib/systemd/system"), { recursive: true });
    await writeFile(join(tree, "lib/systemd/system/containerd.service"), unit.replace("ExecStart=/usr/bin/containerd", "ExecStart=/usr/local/bin/containerd"));
    await mkdir(join(tree, "share/doc/nerdctl-full"), { recursive: true });
    await writeFile(
      join(tree, "share/doc/nerdctl-full/README.md"),
      `# den test fixture, not nerdctl-full\n\nAssembled by tests/e2e/support/nerdctl-full-fixture.ts from Debian's ${Packages.join(", ")} and two stand-in scripts.\nNo nerdctl, no BuildKit.\n`,
    );
    const temporary = `${target}.${process.pid}.tmp`;
    exec(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-C", tree, "-czf", temporary, "bin", "lib", "libexec", "share"], work);
    await rename(temporary, target);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function place(from: string, to: string, mode: number): Promise<void> {
  await mkdir(resolve(to, ".."), { recursive: true });
  await copyFile(from, to);
  await chmod(to, mode);
}

function exec(argv: string[], cwd: string): void {
  const child = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (child.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (exit ${child.exitCode}): ${child.stderr.toString().trim()}`);
}
