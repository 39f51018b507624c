// The sha256 of a large file (a ~100 MiB runtime) without reading it at every start: the digest is recorded in a
// small stamp beside the file together with the file's identity (device, inode, size, mtime and ctime), and the
// file is hashed again only when any of them changed. ctime cannot be set back by anyone (utimes sets only atime and
// mtime), so a file rewritten in place with its old mtime restored still counts as changed. The stamp lives in a
// folder only the user can open, so nobody else can forge one.
import { randomUUID } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { z } from "zod";

const StampSchema = z.strictObject({
  dev: z.string(),
  ino: z.string(),
  size: z.string(),
  mtimeNs: z.string(),
  ctimeNs: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
type Stamp = z.output<typeof StampSchema>;

/** The identity fields of `info` as the stamp records them. */
function identityOf(info: BigIntStats): Omit<Stamp, "sha256"> {
  return { dev: String(info.dev), ino: String(info.ino), size: String(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs) };
}

function sameIdentity(a: Omit<Stamp, "sha256">, b: Omit<Stamp, "sha256">): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * sha256 (hex) of the file at `path` (followed if a symlink), from the stamp at `stampPath` when the file is still
 * the one it describes, else hashed and the stamp rewritten. Throws what stat() or reading the file throws.
 */
export async function stampedSha256(path: string, stampPath: string): Promise<string> {
  const before = identityOf(await stat(path, { bigint: true }));
  const stamp = await readStamp(stampPath);
  if (stamp && sameIdentity(stamp, before)) return stamp.sha256;
  const sha256 = await fileSha256(path);
  // A file that changed while it was read has a digest of neither version: answer it, but never record it.
  const after = identityOf(await stat(path, { bigint: true }));
  if (sameIdentity(before, after)) await writeStamp(stampPath, { ...after, sha256 });
  return sha256;
}

/** Records `sha256` for the file at `path` as it is now (after den wrote it and knows its digest). */
export async function recordSha256(path: string, stampPath: string, sha256: string): Promise<void> {
  await writeStamp(stampPath, { ...identityOf(await stat(path, { bigint: true })), sha256 });
}

/** sha256 (hex) of the file's bytes, read as a stream. */
export async function fileSha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

async function readStamp(path: string): Promise<Stamp | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = StampSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function writeStamp(path: string, stamp: Stamp): Promise<void> {
  // A stamp is only a shortcut: failing to write one costs a rehash next time, never the start.
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(stamp)}\n`, { mode: 0o600, flag: "wx" });
    await rename(temporary, path);
  } catch {
    await rm(temporary, { force: true });
  }
}
