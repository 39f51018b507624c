// The virtiofsd command line for one virtiofs mount of a QEMU guest on a Linux host. Two daemons exist: the Rust
// `virtiofsd` (Debian/Ubuntu package `virtiofsd`, Fedora, Arch; usually /usr/libexec/virtiofsd or on PATH) and the
// C one QEMU shipped up to 7.2 (/usr/lib/qemu/virtiofsd from Debian 12's qemu-system-common). They take different
// flags, so the flavour is read from `--version`.
//
// Ownership: the daemon creates files with the credentials of the guest process that asked, so a file the guest user
// writes would belong to the guest uid on the host. den runs the daemon in a user namespace (util-linux `unshare`)
// that maps the guest user's uid and gid to the host user's: files the guest user writes belong to the host user, and
// host files of the host user appear as the guest user's, whether the host user is root or not (and an unprivileged
// host user can run the daemon at all, which needs namespace privileges). Other guest users, root included, have no
// mapping in that namespace: their writes fail with EINVAL, as with any unprivileged virtiofsd.
import { delimiter, join } from "node:path";

export type VirtiofsdFlavour = "rust" | "c";

export interface VirtiofsdBinary {
  path: string;
  flavour: VirtiofsdFlavour;
}

/** Search order: the maintained Rust daemon (PATH, then its usual folders), then QEMU's old C daemon. */
export function virtiofsdCandidates(env: Readonly<Record<string, string | undefined>>): string[] {
  const onPath = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "").map((dir) => join(dir, "virtiofsd"));
  return [...new Set([...onPath, "/usr/libexec/virtiofsd", "/usr/lib/virtiofsd", "/usr/lib/qemu/virtiofsd", "/usr/libexec/qemu/virtiofsd"])];
}

/** The C daemon prints `virtiofsd version 7.2.x (…)`; the Rust one prints `virtiofsd 1.x.y`. */
export function virtiofsdFlavour(versionOutput: string): VirtiofsdFlavour {
  return /virtiofsd version \d/.test(versionOutput) ? "c" : "rust";
}

export interface VirtiofsdCommandInput {
  binary: VirtiofsdBinary;
  socketPath: string;
  location: string;
  /** Guest user's uid and gid, mapped to the host user's. */
  guest: { uid: number; gid: number };
  /** The `unshare` binary; undefined runs the daemon directly (needs root, and keeps the guest's uids). */
  unshare: string | undefined;
}

/** argv (program first) for one mount's daemon. */
export function virtiofsdCommand(input: VirtiofsdCommandInput): string[] {
  const daemon =
    input.binary.flavour === "c"
      ? [input.binary.path, `--socket-path=${input.socketPath}`, "-o", `source=${input.location}`, "-o", "cache=auto"]
      : // --sandbox chroot: the Rust daemon's namespace sandbox wants to be uid 0 inside its namespace, which the
        // one-uid mapping is not; chroot is still a jail to the shared folder.
        [input.binary.path, `--socket-path=${input.socketPath}`, `--shared-dir=${input.location}`, "--cache=auto", "--sandbox=chroot"];
  if (!input.unshare) return daemon;
  return [input.unshare, "--user", `--map-user=${input.guest.uid}`, `--map-group=${input.guest.gid}`, "--keep-caps", "--", ...daemon];
}
