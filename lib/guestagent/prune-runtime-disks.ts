// A Linux den is itself the guest agent's runtime, so every build of den has a runtime of its own sha256 and writes a
// runtime disk of ~110 MiB for it. A disk is opened by the VM at an instance's start and held open while it runs (the
// guest runs the agent's runtime from it, and QEMU keeps the file it opened even once it is unlinked), so the disks
// of other builds are garbage to this one: they are removed when a new disk is written and by `den prune`. Another
// den installed beside this one writes its disk again when it next starts an instance; a disk younger than
// `minAgeMs` is left alone so that a start racing this sweep still finds the disk it has just written.
// The containerd archive disks (lib/containerd/archive-disk.ts) are named and swept the same way, in their own folder.
import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

export interface PruneRuntimeDisksOptions {
  /** sha256 names (without `.iso`) to keep: the runtimes this den uses. */
  keep: ReadonlySet<string>;
  /** Disks modified less than this long ago are kept; 0 removes every other disk. */
  minAgeMs: number;
  now?: number;
}

/**
 * Runtime disk file names: a sha256 (a second one after a dash for a disk that also carries the musl runtime) and
 * `.iso`, and `….iso.<uuid>.tmp` while one is written (left by a crash).
 */
const RuntimeDiskName = /^([0-9a-f]{64})(?:-([0-9a-f]{64}))?\.iso(\.[0-9a-f-]{36}\.tmp)?$/;

/** Removes the other runtime disks in `dir`; returns the bytes freed. A missing folder frees nothing. */
export async function pruneRuntimeDisks(dir: string, options: PruneRuntimeDisksOptions): Promise<{ removed: string[]; freedBytes: number }> {
  const now = options.now ?? Date.now();
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  let freedBytes = 0;
  for (const name of names) {
    const match = RuntimeDiskName.exec(name);
    const sha256 = match?.[1];
    if (sha256 === undefined) continue;
    // A disk is kept only while every runtime on it is; an unfinished write of a kept one is garbage too once it is
    // old enough: no writer takes that long.
    const kept = options.keep.has(sha256) && (match?.[2] === undefined || options.keep.has(match[2]));
    if (kept && match?.[3] === undefined) continue;
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    // Only our own regular files: a link or folder put here is not ours to follow or remove.
    if (!info?.isFile() || now - info.mtimeMs < options.minAgeMs) continue;
    await rm(path, { force: true });
    removed.push(name);
    freedBytes += info.size;
  }
  return { removed, freedBytes };
}
