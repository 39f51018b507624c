// The Debian test guest that end-to-end tests boot. scripts/build-guest-image.sh owns the build and its cache; this
// file only runs it once per test process and names the files it made.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DenError } from "../../../lib/errors.ts";

/** A built guest image: a qcow2 base disk for direct kernel boot. */
export interface GuestImage {
  dir: string;
  /** qcow2 base image; boot from an overlay, never write to it. */
  disk: string;
  kernel: string;
  initrd: string;
  /** Kernel command line, e.g. `root=/dev/vda rw console=ttyS0`. */
  cmdline: string;
}

export interface EnsureGuestImageOptions {
  /** Defaults to amd64; arm64 builds through qemu-user and takes about 15 minutes. */
  arch?: "amd64" | "arm64";
}

const buildScript = resolve(import.meta.dir, "../../../scripts/build-guest-image.sh");
const builds = new Map<string, Promise<GuestImage>>();

/** Builds the guest image or reuses the cached one; the script runs at most once per arch in a test process. */
export function ensureGuestImage(options: EnsureGuestImageOptions = {}): Promise<GuestImage> {
  const arch = options.arch ?? "amd64";
  let build = builds.get(arch);
  if (build === undefined) {
    build = runBuildScript(arch);
    // A failed build is not remembered, so a later test gets a fresh attempt and its own error.
    build.catch(() => builds.delete(arch));
    builds.set(arch, build);
  }
  return build;
}

async function runBuildScript(arch: string): Promise<GuestImage> {
  const child = Bun.spawn(["bash", buildScript], {
    env: { ...process.env, ARCH: arch },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (exitCode !== 0) {
    throw new DenError("IO", `Cannot build the test guest image: ${buildScript} exited with ${exitCode}\n${tail(stderr, 40)}`, {
      hint: "run scripts/build-guest-image.sh as root by hand; a failed build keeps its log in the cache root",
      details: { exitCode, stderr },
    });
  }
  const dir = stdout.trimEnd().split("\n").at(-1) ?? "";
  const image = {
    dir,
    disk: join(dir, "disk.qcow2"),
    kernel: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.img"),
    cmdline: "",
  };
  for (const path of [image.disk, image.kernel, image.initrd, join(dir, "cmdline")]) {
    if (!existsSync(path)) {
      throw new DenError("IO", `Cannot use the test guest image: "${path}" is missing`, {
        hint: `remove "${dir}" so the next run rebuilds it`,
      });
    }
  }
  return { ...image, cmdline: readFileSync(join(dir, "cmdline"), "utf8").trim() };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
