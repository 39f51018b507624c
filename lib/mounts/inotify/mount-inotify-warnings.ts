// What mountInotify cannot do with the instance's mounts, said at boot rather than only in a comment.
//
// 9p with cache=mmap (Lima's default for writable 9p mounts) or cache=none keeps no inodes of nested folders in the
// guest kernel: every lookup makes a new inode, so a watch on a subfolder sits on an inode nothing uses any more and
// sees no event, not even of the guest's own writes (measured in the test guest, kernel 6.1; see agent/fs-events.ts).
// Only watches on the mount point itself see events. cache=loose and fscache keep the inodes (and watches work
// there), but they also keep file contents, so host edits are not seen in the guest: not a fix to suggest.
import type { FilledDenYaml } from "../../config/schema.ts";

// The 9p cache modes whose nested-folder watches see nothing.
const uncachedNinePModes = new Set(["mmap", "none"]);

/** One warning line per limit that applies to this configuration (pure); empty when file events work everywhere. */
export function mountInotifyWarnings(config: Pick<FilledDenYaml, "mountType" | "mountInotify" | "mounts">): string[] {
  if (!config.mountInotify || config.mountType !== "9p") return [];
  const affected = config.mounts.filter((mount) => uncachedNinePModes.has(mount["9p"].cache));
  if (affected.length === 0) return [];
  const where = affected.map((mount) => `"${mount.mountPoint}"`).join(", ");
  return [
    `mountInotify: with 9p (cache=mmap), host changes in subfolders of ${where} wake no watcher in the guest, only changes directly in the mount folder do; use mountType virtiofs or reverse-sshfs for file events in subfolders`,
  ];
}
