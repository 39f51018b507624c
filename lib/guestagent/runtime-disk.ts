// The runtime disk: the guest agent's runtime travels to the guest once per runtime on a read-only ISO9660 image,
// DEN_HOME/_cache/guestagent/runtime-disks/<sha256>.iso (label DENRUNTIME: `bun`, 0755, and `bun.sha256`), attached to
// every non-plain instance after the seed. The seed itself then carries only the small bundle and one line naming
// the runtime, so it is written in milliseconds at every start; the guest mounts the disk read-only at every boot and
// runs the runtime from it, never copying it, once the disk's bun.sha256 matches that line
// (cidata/boot/linux/25-guestagent.sh).
// For a guest den expects to run musl (expectsMuslGuest in guest-libc.ts) the disk also carries Bun's musl build as
// `bun-musl` and `bun-musl.sha256`, and is named <glibc sha256>-<musl sha256>.iso: both runtimes, because den cannot
// see the guest's C library before it boots, and the guest's boot script picks the one its C library runs.
import { join } from "node:path";
import { ensureCachedIsoImage } from "../../cidata/cached-iso-image.ts";
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import { DenError } from "../errors.ts";
import { ensurePrivateDir } from "../store/dirs.ts";
import { CacheDir, GuestAgentCacheDir, RuntimeDisksDir } from "../store/filenames.ts";
import type { GuestRuntime } from "./guest-runtime.ts";
import { pruneRuntimeDisks } from "./prune-runtime-disks.ts";

export const RuntimeDiskLabel = "DENRUNTIME";

/** The image's files: the runtime (streamed, its sha256 checked on the way) and its digest; then the musl runtime's. */
export function runtimeDiskEntries(runtime: GuestRuntime, options: { musl?: GuestRuntime | undefined } = {}): IsoFileEntry[] {
  const files = (name: string, file: GuestRuntime): IsoFileEntry[] => [
    { path: name, kind: "file", mode: 0o755, size: file.size, source: () => verifiedStream(file) },
    { path: `${name}.sha256`, kind: "file", mode: 0o644, size: file.sha256.length + 1, source: () => `${file.sha256}\n` },
  ];
  return [...files("bun", runtime), ...(options.musl ? files(MuslRuntimeFile, options.musl) : [])];
}

/** The musl runtime's name on the disk. */
export const MuslRuntimeFile = "bun-musl";

/** The disk's file name: the runtime's sha256, and the musl runtime's after a dash when it carries one. */
export function runtimeDiskName(runtime: Pick<GuestRuntime, "sha256">, options: { musl?: Pick<GuestRuntime, "sha256"> | undefined } = {}): string {
  return options.musl ? `${runtime.sha256}-${options.musl.sha256}.iso` : `${runtime.sha256}.iso`;
}

/**
 * The path of the runtime disk for `runtime`, written when missing. One found in place is reused only when it is our
 * own 0600 regular file of exactly the size the image of this runtime has; a runtime that changes while it is copied
 * fails the write, which then leaves no image behind.
 */
export async function ensureRuntimeDisk(runtime: GuestRuntime, ctx: { denHome: string; musl?: GuestRuntime | undefined; sweepKeeping?: ReadonlySet<string> | undefined }): Promise<string> {
  const cacheDir = join(ctx.denHome, CacheDir);
  const dir = join(cacheDir, GuestAgentCacheDir, RuntimeDisksDir);
  for (const level of [cacheDir, join(cacheDir, GuestAgentCacheDir), dir]) await ensurePrivateDir(level);
  const path = join(dir, runtimeDiskName(runtime, { musl: ctx.musl }));
  const written = await ensureCachedIsoImage(path, runtimeDiskEntries(runtime, { musl: ctx.musl }), { volumeId: RuntimeDiskLabel, what: "the guest agent runtime disk" });
  if (!written) return path;
  // A new disk means a new runtime, most often a new den: the disks of earlier ones would only take room.
  if (ctx.sweepKeeping) await pruneRuntimeDisks(dir, { keep: new Set([runtime.sha256, ...(ctx.musl ? [ctx.musl.sha256] : []), ...ctx.sweepKeeping]), minAgeMs: RecentDiskMs });
  return path;
}

/** A runtime disk this young may have just been written by another den that is about to start its VM with it. */
export const RecentDiskMs = 10 * 60_000;

function verifiedStream(runtime: GuestRuntime): ReadableStream<Uint8Array> {
  const hasher = new Bun.CryptoHasher("sha256");
  return Bun.file(runtime.path)
    .stream()
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          hasher.update(chunk);
          controller.enqueue(chunk);
        },
        flush() {
          const actual = hasher.digest("hex");
          if (actual === runtime.sha256) return;
          throw new DenError("GUEST_AGENT", `Cannot copy the guest agent runtime "${runtime.path}" to its disk: its sha256 is ${actual}, expected ${runtime.sha256}`, {
            hint: "the runtime changed after den checked it; start the instance again",
          });
        },
      }),
    );
}
