// Copies one local file into the instance folder: cloned when the file system can (reflink on Linux, clonefile on
// macOS, so a multi-gigabyte image costs no space), else streamed; decompressed on the way when asked; checked
// against its digest; and renamed into place only when complete and verified, so a crash never leaves a
// half-copied image that a later start would trust.
import { createReadStream } from "node:fs";
import { chmod, open, rename, rm, stat } from "node:fs/promises";
import { DenError } from "../errors.ts";
import { isNoSpaceError, noSpaceError } from "../fs/no-space-error.ts";
import { run } from "../process/run.ts";
import { compressionOf, MagicLength, type Compression } from "./compression.ts";
import { decompressFile } from "./decompress-file.ts";
import { type Digest, digestHasher, formatDigest, hashFile, parseDigest } from "./digest.ts";

export interface CopyLocalFileOptions {
  /** What the file is, for messages: "image", "kernel", "initrd". */
  what: string;
  /** `sha256:<hex>` / `sha512:<hex>` of the source file as given (compressed, if it is). */
  digest?: string | null | undefined;
  /** Decompress .gz/.bz2/.xz/.zst (by extension or magic bytes) while copying. */
  decompress?: boolean;
  /** The name whose extension tells the compression, when `source` has none (a cache entry's `data`). */
  name?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** File mode of the copies: the instance folder (0700) already keeps others out. */
const CopyMode = 0o644;

/** Copies `source` to `target`, verifying the digest; `target` appears only when the copy is complete and correct. */
export async function copyLocalFile(source: string, target: string, options: CopyLocalFileOptions): Promise<void> {
  const digest = options.digest ? parseDigest(options.digest) : undefined;
  await requireFile(source, options.what);
  const compression = options.decompress ? compressionOf(options.name ?? source, await readHead(source)) : undefined;
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    let actual: string | undefined;
    if (compression) {
      actual = await decompressTo(source, temporary, compression, { ...options, digest });
    } else if (await cloneFile(source, temporary)) {
      if (digest) actual = await hashFile(temporary, digest.algorithm, options.signal);
    } else {
      actual = await streamCopy(source, temporary, digest, options.signal);
    }
    if (digest && actual !== formatDigest(digest)) {
      throw new DenError("DIGEST_MISMATCH", `Cannot use ${options.what} "${source}": expected digest "${formatDigest(digest)}", got "${actual}"`, {
        hint: "the file differs from the one the configuration names: use the right file, or correct the digest in images[]",
        details: { expected: formatDigest(digest), actual },
      });
    }
    await chmod(temporary, CopyMode);
    await rename(temporary, target);
  } catch (error) {
    if (!isNoSpaceError(error)) throw error;
    // A compressed file's size once decompressed is known only by writing it: what fitted is the lower bound.
    const neededBytes = compression ? await sizeOf(temporary) : await sizeOf(source);
    await rm(temporary, { force: true });
    throw noSpaceError(target, { what: options.what, neededBytes, atLeast: compression !== undefined, cause: error });
  } finally {
    await rm(temporary, { force: true });
  }
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

async function requireFile(path: string, what: string): Promise<void> {
  try {
    if ((await stat(path)).isFile()) return;
    throw new DenError("IO", `Cannot copy ${what} "${path}": it is not a regular file`, { hint: `point the ${what} location at a file` });
  } catch (error) {
    if (error instanceof DenError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new DenError("IO", `Cannot read ${what} "${path}": ${code === "ENOENT" ? "no such file" : (code ?? String(error))}`, {
      hint: `check the ${what} location in the instance's images[] (den.yaml)`,
      cause: error,
    });
  }
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const head = new Uint8Array(MagicLength);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** A copy-on-write clone through the system cp; false when cp or the file system cannot (then stream instead). */
async function cloneFile(source: string, target: string): Promise<boolean> {
  // GNU cp falls back to a plain copy itself with --reflink=auto; macOS cp -c clones or fails.
  const argv = process.platform === "darwin" ? ["cp", "-c", source, target] : ["cp", "--reflink=auto", source, target];
  // A missing cp is one more reason to stream instead.
  const { code } = await run(argv).catch(() => ({ code: null }));
  if (code !== 0) await rm(target, { force: true });
  return code === 0;
}

async function streamCopy(source: string, target: string, digest: Digest | undefined, signal: AbortSignal | undefined): Promise<string | undefined> {
  const hash = digest ? digestHasher(digest.algorithm) : undefined;
  const handle = await open(target, "w", CopyMode);
  try {
    for await (const chunk of createReadStream(source)) {
      signal?.throwIfAborted();
      const bytes = chunk as Buffer;
      hash?.update(bytes);
      let offset = 0;
      while (offset < bytes.byteLength) offset += (await handle.write(bytes, offset, bytes.byteLength - offset)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash && digest ? `${digest.algorithm}:${hash.digest("hex")}` : undefined;
}

/** Decompresses `source` into `target`, hashing the compressed bytes on the way. */
async function decompressTo(
  source: string,
  target: string,
  compression: Compression,
  options: { what: string; digest: Digest | undefined; signal?: AbortSignal | undefined },
): Promise<string | undefined> {
  const hash = options.digest ? digestHasher(options.digest.algorithm) : undefined;
  await decompressFile(source, target, compression, { what: options.what, mode: CopyMode, signal: options.signal, onInput: hash && ((chunk) => hash.update(chunk)) });
  return hash && options.digest ? `${options.digest.algorithm}:${hash.digest("hex")}` : undefined;
}
