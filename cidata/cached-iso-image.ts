// A read-only ISO9660 image kept in DEN_HOME's cache and attached to guests (the agent's runtime disk, the containerd
// archive disk): written once under a temporary name and renamed, then reused as long as it is our own private file
// of exactly the size its files make.
import { lstat } from "node:fs/promises";
import { DenError } from "../lib/errors.ts";
import { isNoSpaceError, noSpaceError } from "../lib/fs/no-space-error.ts";
import { writeFileAtomically } from "../lib/fs/write-file-atomically.ts";
import { type IsoFileEntry, planIso9660, writeIso9660 } from "./iso9660.ts";

/** Private like the rest of DEN_HOME; the VM process runs as the same user and opens it read-only. */
const ImageMode = 0o600;

/**
 * Writes the image of `entries` at `path` unless it is there already; returns whether it was written. `what` names
 * the image in errors ("the guest agent runtime disk"). A file's source that fails (a digest checked on the way)
 * fails the write, which then leaves no image behind.
 */
export async function ensureCachedIsoImage(path: string, entries: IsoFileEntry[], options: { volumeId: string; what: string }): Promise<boolean> {
  const isoOptions = { volumeId: options.volumeId };
  const expectedSize = planIso9660(entries, isoOptions).totalBytes;
  const info = await lstat(path).catch(() => undefined);
  if (info?.isFile() && (info.mode & 0o777) === ImageMode && info.uid === process.getuid?.() && info.size === expectedSize) return false;
  await writeFileAtomically(path, writeIso9660(entries, isoOptions), {
    mode: ImageMode,
    failure: (cause, { step, temporary }) =>
      isNoSpaceError(cause)
        ? noSpaceError(path, { what: options.what, neededBytes: expectedSize, cause })
        : new DenError("IO", `Cannot ${step} ${options.what} "${step === "create" ? temporary : path}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
        cause,
        hint: "check that DEN_HOME is writable and the disk has space",
      }),
  });
  return true;
}
