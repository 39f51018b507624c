// Where a host path shows up in the guest. Watchers are started on each mount's resolved host folder (its
// symlinks followed, as Lima does, because the platform watcher reports real paths), so a change under that
// folder maps to the same relative path under the mount point.
import { posix } from "node:path";

export interface WatchedMount {
  /** The mount's location with symlinks resolved. */
  hostRoot: string;
  /** Absolute path in the guest. */
  mountPoint: string;
}

/**
 * Every guest path of a host path (pure): one per mount containing it, so nested or repeated locations all get
 * the event. Empty when no mount contains it.
 */
export function guestPathsFor(hostPath: string, mounts: readonly WatchedMount[]): string[] {
  const paths: string[] = [];
  for (const mount of mounts) {
    const relative = relativeInside(mount.hostRoot, hostPath);
    if (relative === undefined) continue;
    const guestPath = relative === "" ? mount.mountPoint : posix.join(mount.mountPoint, relative);
    if (!paths.includes(guestPath)) paths.push(guestPath);
  }
  return paths;
}

function relativeInside(root: string, path: string): string | undefined {
  const normalizedRoot = posix.normalize(root).replace(/(.)\/+$/, "$1");
  const normalizedPath = posix.normalize(path).replace(/(.)\/+$/, "$1");
  if (normalizedPath === normalizedRoot) return "";
  const prefix = normalizedRoot === "/" ? "/" : `${normalizedRoot}/`;
  return normalizedPath.startsWith(prefix) ? normalizedPath.slice(prefix.length) : undefined;
}
