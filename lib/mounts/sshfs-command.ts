// The guest side of a reverse-sshfs mount: one shell command, run over an SSH exec channel whose stdin/stdout
// become sshfs's SFTP connection (`-o slave`), so the host serves the files and no port is opened anywhere.
import type { FilledMount } from "../config/schema.ts";
import { shellQuote } from "../shell/quote.ts";

/**
 * sshfs's `-o` options for a mount, in Lima's order (cache=no, follow_symlinks) plus `idmap=user`: sshfs runs as
 * the guest user and the files belong to the host user, and idmap shows the one as the other (sshfs learns the
 * host's uid from the owner of the served folder). `allow_other` is added in the guest when fuse.conf allows it.
 */
export function sshfsOptions(mount: Pick<FilledMount, "writable" | "sshfs">): string[] {
  const options = ["idmap=user"];
  if (!mount.sshfs.cache) options.push("cache=no");
  if (mount.sshfs.followSymlinks) options.push("follow_symlinks");
  if (!mount.writable) options.push("ro");
  return options;
}

/**
 * The command the guest runs for one mount. It clears a stale FUSE mount left by an earlier host agent (a dead
 * sshfs leaves "Transport endpoint is not connected" behind), makes the mount point with sudo when it is missing
 * or not the user's (fusermount refuses a mount point the user cannot write), and execs sshfs in slave mode,
 * which stays in the foreground and speaks SFTP on its stdin/stdout.
 */
export function sshfsCommand(mount: Pick<FilledMount, "location" | "mountPoint" | "writable" | "sshfs">): string {
  const point = shellQuote(mount.mountPoint);
  const options = shellQuote(sshfsOptions(mount).join(","));
  return [
    `mp=${point}`,
    `{ fusermount3 -u -z "$mp" || fusermount -u -z "$mp"; } >/dev/null 2>&1`,
    `if [ ! -d "$mp" ]; then sudo -n mkdir -p "$mp" || exit 1; fi`,
    `if [ ! -w "$mp" ]; then sudo -n chown "$(id -u):$(id -g)" "$mp" || exit 1; fi`,
    `opts=${options}`,
    `if grep -qs '^user_allow_other' /etc/fuse.conf /etc/fuse3.conf; then opts="allow_other,$opts"; fi`,
    `exec sshfs ${shellQuote(`:${mount.location}`)} "$mp" -o slave -o "$opts"`,
  ].join("\n");
}

/** Unmounts a reverse-sshfs mount point as the user who mounted it; never fails. */
export function sshfsUnmountCommand(mountPoint: string): string {
  const point = shellQuote(mountPoint);
  return `fusermount3 -u ${point} 2>/dev/null || fusermount -u ${point} 2>/dev/null || fusermount3 -u -z ${point} 2>/dev/null || true`;
}
