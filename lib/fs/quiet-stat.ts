// Yes/no questions about a path for lookups and checks, where "cannot tell" (missing, no permission, a loop, a
// file where a folder was expected) counts as no. Symbolic links are followed.
import { type Stats, statSync } from "node:fs";

/** The path's stat, or undefined when it cannot be had for any reason. */
export function quietStatSync(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export function isFileSync(path: string): boolean {
  return quietStatSync(path)?.isFile() ?? false;
}

export function isDirectorySync(path: string): boolean {
  return quietStatSync(path)?.isDirectory() ?? false;
}

/** A regular file with an execute bit set for anyone (whether this user may run it is left to the attempt). */
export function isExecutableFileSync(path: string): boolean {
  const info = quietStatSync(path);
  return info !== undefined && info.isFile() && (info.mode & 0o111) !== 0;
}
