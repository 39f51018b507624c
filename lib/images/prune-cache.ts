// `den prune`: empties the download cache, or with a set of locations to keep (--keep-referred) removes only the
// entries nobody names and sweeps unfinished downloads from the kept ones. An entry another process is
// downloading right now (its lock is held) is left alone either way.
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { InstanceLockFile } from "../store/filenames.ts";
import { acquireInstanceLock, type InstanceLock } from "../store/instance-lock.ts";
import { ByUrlDir, isPartialFileName } from "./cache-layout.ts";

export interface PruneCacheOptions {
  /** Locations (URLs) whose entries stay; undefined removes every entry. */
  keep?: ReadonlySet<string> | undefined;
}

export interface PruneCacheResult {
  removedEntries: number;
  keptEntries: number;
  /** Unfinished downloads swept from kept entries. */
  removedPartials: number;
  /** Entries skipped because a download holds them. */
  busyEntries: number;
  freedBytes: number;
}

export async function pruneCache(cacheDir: string, options: PruneCacheOptions = {}): Promise<PruneCacheResult> {
  const result: PruneCacheResult = { removedEntries: 0, keptEntries: 0, removedPartials: 0, busyEntries: 0, freedBytes: 0 };
  const root = join(cacheDir, ByUrlDir);
  for (const key of await listDir(root)) {
    const dir = join(root, key);
    const lock = await tryLock(dir);
    if (!lock) {
      result.busyEntries++;
      continue;
    }
    try {
      const url = (await readFile(join(dir, "url"), "utf8").catch(() => "")).trim();
      if (options.keep && url !== "" && options.keep.has(url)) {
        result.keptEntries++;
        for (const name of (await listDir(dir)).filter(isPartialFileName)) {
          result.freedBytes += await sizeOf(join(dir, name));
          await rm(join(dir, name), { force: true });
          result.removedPartials++;
        }
        continue;
      }
      result.freedBytes += await sizeOf(dir);
      await rm(dir, { recursive: true, force: true });
      result.removedEntries++;
    } finally {
      await lock.release();
    }
  }
  return result;
}

async function tryLock(dir: string): Promise<InstanceLock | undefined> {
  try {
    return await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den prune" });
  } catch (error) {
    if (error instanceof DenError && error.code === "INSTANCE_LOCKED") return undefined;
    throw error;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new DenError("IO", `Cannot read the download cache "${dir}": ${(error as Error).message}`, { cause: error, hint: "check the permissions of the cache folder" });
  }
}

/** Bytes of a file, or of every file under a folder (without lock files). */
async function sizeOf(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  // The lock prune itself holds is not part of what it frees.
  for (const name of await listDir(path)) if (!name.startsWith(InstanceLockFile)) total += await sizeOf(join(path, name));
  return total;
}
