// Fingerprints of a folder tree, to prove a command changed nothing it had no business touching. `content` hashes
// every regular file; `metadata` only records size, mtime and inode (cheap enough to take around every run).
import { createHash } from "node:crypto";
import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

/** Relative path → fingerprint; a missing root is an empty snapshot. */
export type TreeSnapshot = Map<string, string>;

export async function snapshotTree(root: string, options: { mode: "content" | "metadata" }): Promise<TreeSnapshot> {
  const snapshot: TreeSnapshot = new Map();
  const visit = async (relative: string): Promise<void> => {
    const path = relative === "" ? root : join(root, relative);
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) return;
    const key = relative === "" ? "." : relative;
    if (info.isSymbolicLink()) {
      snapshot.set(key, `link ${await readlink(path)}`);
    } else if (info.isDirectory()) {
      snapshot.set(key, `dir ${(info.mode & 0o7777).toString(8)}`);
      for (const entry of (await readdir(path)).sort()) await visit(relative === "" ? entry : join(relative, entry));
    } else if (info.isFile()) {
      const mode = (info.mode & 0o7777).toString(8);
      snapshot.set(
        key,
        options.mode === "content" ? `file ${mode} ${createHash("sha256").update(await readFile(path)).digest("hex")}` : `file ${mode} ${info.size} ${info.mtimeMs} ${info.ino}`,
      );
    } else {
      snapshot.set(key, `special ${info.mode.toString(8)} ${info.ino}`);
    }
  };
  await visit("");
  return snapshot;
}

/** `added x`, `removed y`, `changed z`, in path order. */
export function diffSnapshots(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const changes: string[] = [];
  for (const [path, print] of before) {
    const now = after.get(path);
    if (now === undefined) changes.push(`removed ${path}`);
    else if (now !== print) changes.push(`changed ${path}`);
  }
  for (const path of after.keys()) if (!before.has(path)) changes.push(`added ${path}`);
  return changes.sort((a, b) => a.slice(a.indexOf(" ")).localeCompare(b.slice(b.indexOf(" "))));
}
