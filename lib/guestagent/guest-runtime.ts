// The runtime half of the guest agent (a plain Bun executable for the guest's target; the agent itself is the
// bundle, agent-bundle.ts): the guest runs `BUN_BE_BUN=1 <runtime> den-guestagent.js`. Where it comes from:
//   - the guest's target is this host's (linux-x64 den, x86_64 guest): den's own executable, which BUN_BE_BUN=1 turns
//     into the plain runtime (from source: the bun running den);
//   - else the manifest's file for the target: beside den (a darwin release tarball carries the linux runtime of its
//     own arch in share/den/, as Lima keeps its guest agents in share/lima/), in dist/agent/ of a source checkout, or
//     fetched (fetch-runtime.ts); unpacked once per Bun version into DEN_HOME/_cache/guestagent/runtimes/. Whichever
//     it is, it must unpack to the manifest's sha256.
// The guest runs it as root, so an unpacked runtime is used only when it is our own 0600 regular file with the
// manifest's size and sha256; the sha256 comes from a stamp beside it (stamped-sha256.ts) unless the file changed,
// so a start does not read 100 MiB to check it.
import { lstat, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DenError } from "../errors.ts";
import { writeFileAtomically } from "../fs/write-file-atomically.ts";
import { ensurePrivateDir } from "../store/dirs.ts";
import { CacheDir, GuestAgentCacheDir } from "../store/filenames.ts";
import { type FetchRuntimeContext, fetchRuntime } from "./fetch-runtime.ts";
import { type AgentTarget, agentTargetFor, builtInRuntimeManifest, DistAgentDir, type GuestLibc, nativeAgentTarget, type RuntimeEntry, type RuntimeManifest } from "./runtime-manifest.ts";
import { recordSha256, stampedSha256 } from "./stamped-sha256.ts";

export interface GuestRuntime {
  path: string;
  size: number;
  /** sha256 (hex) of the runtime; it names the runtime disk and the guest compares it with what it installed. */
  sha256: string;
  target: AgentTarget;
  bunVersion: string;
}

export interface FindGuestRuntimeContext extends Omit<FetchRuntimeContext, "baseUrl"> {
  denHome: string;
  /** The guest's C library; glibc by default. A musl runtime is never den's own executable: it always comes from the manifest. */
  libc?: GuestLibc;
  /** This process's executable, platform, arch and Bun version; default the running ones. */
  execPath?: string;
  platform?: string;
  arch?: string;
  bunVersion?: string;
  /** Defaults to dist/agent/ of the source checkout. */
  distDir?: string;
  /** Defaults to builtInRuntimeManifest(distDir); null: this den knows no runtime files. */
  manifest?: RuntimeManifest | null;
}

/** An unpacked runtime is read (and copied onto the runtime disk) by den, never run on the host. */
const UnpackedMode = 0o600;

/**
 * The runtime for guests of `arch` (den's arch names: x86_64, aarch64); undefined when den has none for it (an arch
 * den has no agent for, or a source checkout whose agent was never built). Throws a DenError when the runtime is
 * known but cannot be had (offline, damaged).
 */
export async function findGuestRuntime(arch: string, ctx: FindGuestRuntimeContext): Promise<GuestRuntime | undefined> {
  const target = agentTargetFor(arch, { libc: ctx.libc ?? "glibc" });
  if (!target) return undefined;
  const cacheDir = join(ctx.denHome, CacheDir);
  const agentDir = join(cacheDir, GuestAgentCacheDir);
  // Every level, so a cache folder an older den made world-writable cannot be used to swap a runtime or a stamp.
  for (const level of [cacheDir, agentDir]) await ensurePrivateDir(level);

  if (nativeAgentTarget(ctx.platform ?? process.platform, ctx.arch ?? process.arch) === target) {
    const path = ctx.execPath ?? process.execPath;
    const sha256 = await ownRuntimeSha256(ctx.denHome, path);
    return { path, size: (await stat(path)).size, sha256, target, bunVersion: ctx.bunVersion ?? Bun.version };
  }

  const distDir = ctx.distDir ?? DistAgentDir;
  const manifest = ctx.manifest === undefined ? builtInRuntimeManifest(distDir) : ctx.manifest;
  const entry = manifest?.runtimes[target];
  if (!manifest || !entry) return undefined;
  const runtimesDir = join(agentDir, "runtimes");
  await ensurePrivateDir(runtimesDir);
  const path = join(runtimesDir, `bun-${manifest.bunVersion}-${target}`);
  const stampPath = `${path}.sha256.json`;
  const runtime: GuestRuntime = { path, size: entry.size, sha256: entry.sha256, target, bunVersion: manifest.bunVersion };
  if (await unpackedMatches(path, stampPath, entry)) return runtime;

  const compressed =
    (await firstFileBytes(besideDen(ctx.execPath ?? process.execPath, entry.file))) ??
    (await firstFileBytes([join(distDir, entry.file)])) ??
    (await Bun.file(await fetchRuntime(entry, { ...ctx, baseUrl: manifest.baseUrl })).bytes());
  const bytes = await decompress(compressed, entry);
  const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  if (sha256 !== entry.sha256 || bytes.byteLength !== entry.size) {
    throw new DenError("GUEST_AGENT", `Cannot use the guest agent runtime "${entry.file}": it unpacks to ${bytes.byteLength} bytes with sha256 ${sha256}, expected ${entry.size} bytes with ${entry.sha256}`, {
      hint: "the den binary, dist/agent/ or the downloaded file is damaged; reinstall den or rebuild with bun scripts/build.ts",
    });
  }
  await writeFileAtomically(path, once(bytes), {
    mode: UnpackedMode,
    failure: (cause) =>
      new DenError("IO", `Cannot write the guest agent runtime to "${path}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
        cause,
        hint: "check that DEN_HOME is writable and the disk has space",
      }),
  });
  await recordSha256(path, stampPath, sha256);
  return runtime;
}

/** The sha256 of den's own executable as a runtime, from its stamp in DEN_HOME's cache unless the file changed. */
export function ownRuntimeSha256(denHome: string, execPath: string = process.execPath): Promise<string> {
  return stampedSha256(execPath, join(denHome, CacheDir, GuestAgentCacheDir, "exec.sha256.json"));
}

/** Whether `path` is our own regular file, writable by nobody else, with the manifest's size and content. */
async function unpackedMatches(path: string, stampPath: string, entry: RuntimeEntry): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile() || (info.mode & 0o777) !== UnpackedMode || info.uid !== process.getuid?.() || info.size !== entry.size) return false;
  return (await stampedSha256(path, stampPath).catch(() => "")) === entry.sha256;
}

/** Where an installed den keeps runtime files: PREFIX/share/den/ for PREFIX/bin/den, or the folder den is in. */
export function besideDen(execPath: string, file: string): string[] {
  const binDir = dirname(execPath);
  return [join(binDir, "..", "share", "den", file), join(binDir, file)];
}

async function firstFileBytes(paths: readonly string[]): Promise<Uint8Array | undefined> {
  for (const path of paths) {
    const file = Bun.file(path);
    if (await file.exists()) return file.bytes();
  }
  return undefined;
}

async function decompress(compressed: Uint8Array, entry: RuntimeEntry): Promise<Uint8Array> {
  try {
    return await Bun.zstdDecompress(compressed);
  } catch (error) {
    throw new DenError("GUEST_AGENT", `Cannot unpack the guest agent runtime "${entry.file}": ${(error as Error).message}`, {
      cause: error,
      hint: "the den binary, dist/agent/ or the downloaded file is damaged; reinstall den or rebuild with bun scripts/build.ts",
    });
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
