// The nerdctl-full archive as a seed file: `nerdctl-full.tgz` (Lima's name) at the root of cidata.iso, which
// cidata/boot/linux/45-install-containerd.sh extracts into the guest. Streamed from the download cache, so a
// ~250 MB archive is never held in memory; hashed on its way in when its digest is known, so a cache file that
// changed after den start checked it fails the seed (never renamed into place) instead of reaching the guest.
import { DenError } from "../lib/errors.ts";
import { type DigestAlgorithm, formatDigest, parseDigest } from "../lib/images/digest.ts";
import type { IsoFileEntry } from "./iso9660.ts";

/** The archive's name in the seed; boot scripts find it through DEN_CIDATA_CONTAINERD_ARCHIVE. */
export const ContainerdArchiveSeedName = "nerdctl-full.tgz";

/** A containerd archive on the host, ready to be put into a seed. */
export interface ContainerdArchiveFile {
  /** The file: a download cache entry's `data`, or a local location as written. */
  path: string;
  size: number;
  /** `sha256:<hex>` / `sha512:<hex>` from the configuration, when it gives one. */
  digest: string | undefined;
  /** The configured location, for messages. */
  location: string;
}

export function containerdArchiveEntry(archive: ContainerdArchiveFile): IsoFileEntry {
  return { path: ContainerdArchiveSeedName, kind: "file", mode: 0o644, size: archive.size, source: () => archiveStream(archive) };
}

function archiveStream(archive: ContainerdArchiveFile): ReadableStream<Uint8Array> {
  const stream = Bun.file(archive.path).stream();
  if (!archive.digest) return stream;
  const expected = parseDigest(archive.digest);
  const hasher = new Bun.CryptoHasher(expected.algorithm satisfies DigestAlgorithm);
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hasher.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        const actual = `${expected.algorithm}:${hasher.digest("hex")}`;
        if (actual === formatDigest(expected)) return;
        throw new DenError("DIGEST_MISMATCH", `Cannot seed the containerd archive "${archive.path}" (from "${archive.location}"): expected digest "${formatDigest(expected)}", got "${actual}"`, {
          hint: "the cached archive changed after den checked it; run den start again to download a fresh copy",
          details: { expected: formatDigest(expected), actual, location: archive.location },
        });
      },
    }),
  );
}
