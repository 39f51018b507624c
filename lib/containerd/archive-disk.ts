// The containerd archive's disk: the nerdctl-full archive (~250 MB) travels to the guest on a read-only ISO9660 image
// written once per archive content, DEN_HOME/_cache/containerd/archive-disks/<sha256>.iso (label DENCONTAINERD:
// `nerdctl-full.tgz` and `nerdctl-full.tgz.sha256`), attached after the runtime disk. The seed names only the archive
// and its sha256, so it stays kilobytes and is written in milliseconds at every start; the guest compares that sha256
// with the one it installed and mounts the disk only when they differ (cidata/boot/linux/45-install-containerd.sh).
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ensureCachedIsoImage } from "../../cidata/cached-iso-image.ts";
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import { DenError } from "../errors.ts";
import { pruneRuntimeDisks } from "../guestagent/prune-runtime-disks.ts";
import { RecentDiskMs } from "../guestagent/runtime-disk.ts";
import { stampedSha256 } from "../guestagent/stamped-sha256.ts";
import { formatDigest, parseDigest } from "../images/digest.ts";
import { ensurePrivateDir } from "../store/dirs.ts";
import { CacheDir, ContainerdArchiveDisksDir, ContainerdArchiveStampsDir, ContainerdCacheDir } from "../store/filenames.ts";
import type { ContainerdArchiveFile } from "./fetch-containerd-archive.ts";

export const ContainerdDiskLabel = "DENCONTAINERD";
/** The archive's name on the disk (Lima's name for it); the seed's DEN_CIDATA_CONTAINERD_ARCHIVE. */
export const ContainerdArchiveName = "nerdctl-full.tgz";

export interface ContainerdArchiveDisk {
  /** Absolute path of the disk image (drivers attach it read-only after the runtime disk). */
  path: string;
  /** The archive's sha256 (hex): what the seed tells the guest to expect on the disk. */
  sha256: string;
}

/** The image's files: the archive (streamed, its configured digest and its sha256 checked on the way) and its sha256. */
export function containerdDiskEntries(archive: ContainerdArchiveFile, sha256: string): IsoFileEntry[] {
  return [
    { path: ContainerdArchiveName, kind: "file", mode: 0o644, size: archive.size, source: () => verifiedStream(archive, sha256) },
    { path: `${ContainerdArchiveName}.sha256`, kind: "file", mode: 0o644, size: sha256.length + 1, source: () => `${sha256}\n` },
  ];
}

/**
 * The disk carrying `archive`, written when missing. The archive's sha256 is its configured sha256 digest, else
 * read from a stamp (hashed only when the file changed), so a start never reads 250 MB just to name the disk. A disk
 * found in place is reused only when it is our own 0600 regular file of exactly the size this archive's image has;
 * an archive that does not match its digests fails the write, which then leaves no image behind.
 */
export async function ensureContainerdArchiveDisk(archive: ContainerdArchiveFile, ctx: { denHome: string }): Promise<ContainerdArchiveDisk> {
  const cacheDir = join(ctx.denHome, CacheDir);
  const containerdDir = join(cacheDir, ContainerdCacheDir);
  const dir = join(containerdDir, ContainerdArchiveDisksDir);
  for (const level of [cacheDir, containerdDir, dir]) await ensurePrivateDir(level);
  const sha256 = await archiveSha256(archive, containerdDir);
  const path = join(dir, `${sha256}.iso`);
  const written = await ensureCachedIsoImage(path, containerdDiskEntries(archive, sha256), { volumeId: ContainerdDiskLabel, what: "the containerd archive disk" }).catch(
    (error: unknown) => {
      // The ISO writer wraps what a file's stream throws; a digest mismatch is the user's to read, with its own hint.
      const cause = error instanceof Error ? error.cause : undefined;
      throw cause instanceof DenError && cause.code === "DIGEST_MISMATCH" ? cause : error;
    },
  );
  if (!written) return { path, sha256 };
  // A new disk most often means a new archive in the template: the disks of earlier ones would only take room.
  await pruneRuntimeDisks(dir, { keep: new Set([sha256]), minAgeMs: RecentDiskMs });
  return { path, sha256 };
}

/** Removes every containerd archive disk in `denHome` (a start writes its disk again); for `den prune`. */
export async function pruneContainerdArchiveDisks(denHome: string): Promise<{ dir: string; removed: string[]; freedBytes: number }> {
  const dir = join(denHome, CacheDir, ContainerdCacheDir, ContainerdArchiveDisksDir);
  return { dir, ...(await pruneRuntimeDisks(dir, { keep: new Set(), minAgeMs: 0 })) };
}

async function archiveSha256(archive: ContainerdArchiveFile, containerdDir: string): Promise<string> {
  // The download cache checked a sha256 digest already, and the disk's write checks it again.
  const digest = archive.digest ? parseDigest(archive.digest) : undefined;
  if (digest?.algorithm === "sha256") return digest.hex;
  const stamps = join(containerdDir, ContainerdArchiveStampsDir);
  await ensurePrivateDir(stamps);
  const stamp = join(stamps, `${createHash("sha256").update(archive.path).digest("hex")}.json`);
  try {
    return await stampedSha256(archive.path, stamp);
  } catch (error) {
    throw new DenError("IO", `Cannot read the containerd archive "${archive.path}" (from "${archive.location}"): ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
      hint: "run den start again to fetch it",
    });
  }
}

function verifiedStream(archive: ContainerdArchiveFile, sha256: string): ReadableStream<Uint8Array> {
  const configured = archive.digest ? parseDigest(archive.digest) : undefined;
  const expected = [...(configured ? [formatDigest(configured)] : []), ...(configured?.algorithm === "sha256" ? [] : [`sha256:${sha256}`])];
  const hashers = expected.map((digest) => ({ digest, hasher: new Bun.CryptoHasher(parseDigest(digest).algorithm) }));
  return Bun.file(archive.path)
    .stream()
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          for (const { hasher } of hashers) hasher.update(chunk);
          controller.enqueue(chunk);
        },
        flush() {
          for (const { digest, hasher } of hashers) {
            const actual = `${parseDigest(digest).algorithm}:${hasher.digest("hex")}`;
            if (actual === digest) continue;
            throw new DenError("DIGEST_MISMATCH", `Cannot copy the containerd archive "${archive.path}" (from "${archive.location}") to its disk: expected digest "${digest}", got "${actual}"`, {
              hint: "the cached archive changed after den checked it; run den start again to download a fresh copy",
              details: { expected: digest, actual, location: archive.location },
            });
          }
        },
      }),
    );
}
