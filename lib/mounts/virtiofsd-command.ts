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
//
// An ordinary host user needs two more things (virtiofsdLaunchPlan checks them before boot):
// - The daemon drops its supplementary groups with setgroups() at start and exits if that fails. A user namespace
//   whose maps an unprivileged process wrote itself denies setgroups() for good; only maps written by the setuid
//   `newgidmap` (package uidmap) from a range in /etc/subgid leave it allowed. So the namespace also maps one
//   subordinate host gid, at the overflow gid 65534 where unmapped host groups show anyway.
// - The C daemon locks its socket with a pid file in /var/run/virtiofsd/, which only root can create; given an
//   already listening socket (`--fd`) it skips that lock, so den opens the socket and hands it over.
import { delimiter, join } from "node:path";
import { DenError } from "../errors.ts";

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

/**
 * The C daemon prints `virtiofsd version 7.2.x (…)`; the Rust one prints `virtiofsd 1.x.y`. Run by an ordinary user
 * outside a namespace the C daemon prints only `setgroups() failed with error=1:…` (it drops groups before it parses
 * its options; see the header).
 */
export function virtiofsdFlavour(versionOutput: string): VirtiofsdFlavour {
  return /virtiofsd version \d|^setgroups\(\) failed with error=/m.test(versionOutput) ? "c" : "rust";
}

export interface VirtiofsdCommandInput {
  binary: VirtiofsdBinary;
  socketPath: string;
  location: string;
  /** Guest user's uid and gid, mapped to the host user's. */
  guest: { uid: number; gid: number };
  /** The `unshare` binary; undefined runs the daemon directly (needs root, and keeps the guest's uids). */
  unshare: string | undefined;
  /** A host gid from the user's /etc/subgid range, mapped so setgroups() is allowed (an ordinary host user). */
  subordinateGid?: number;
  /** The daemon's fd of a socket already listening at socketPath; replaces `--socket-path` (see the header). */
  listenFd?: number;
}

/** argv (program first) for one mount's daemon. */
export function virtiofsdCommand(input: VirtiofsdCommandInput): string[] {
  const socket = input.listenFd === undefined ? `--socket-path=${input.socketPath}` : `--fd=${input.listenFd}`;
  const daemon =
    input.binary.flavour === "c"
      ? [input.binary.path, socket, "-o", `source=${fuseOptValue(input.location)}`, "-o", "cache=auto"]
      : // --sandbox chroot: the Rust daemon's namespace sandbox wants to be uid 0 inside its namespace, which the
        // one-uid mapping is not; chroot is still a jail to the shared folder.
        [input.binary.path, socket, `--shared-dir=${input.location}`, "--cache=auto", "--sandbox=chroot"];
  if (!input.unshare) return daemon;
  const subordinate = input.subordinateGid === undefined ? [] : [`--map-groups=${input.subordinateGid},${overflowGidFor(input.guest.gid)},1`];
  return [input.unshare, "--user", `--map-user=${input.guest.uid}`, `--map-group=${input.guest.gid}`, ...subordinate, "--keep-caps", "--", ...daemon];
}

/**
 * The command that tells whether the daemon `daemonArgv` (from virtiofsdCommand) may list its folder: a shell
 * `test -r && test -x` run with the same namespace prefix, hence the same identity and the same limits (in a user
 * namespace even root reads only what the folder's owner and mode allow the mapped ids). Undefined for a daemon run
 * directly, as root, which can read every folder. Checked before boot because the daemon opens its folder only once
 * QEMU connects, and then QEMU fails with nothing but a vhost-user protocol error.
 */
export function virtiofsdAccessCheck(daemonArgv: readonly string[], location: string): string[] | undefined {
  const separator = daemonArgv.indexOf("--");
  if (separator < 0) return undefined;
  return [...daemonArgv.slice(0, separator + 1), "/bin/sh", "-c", 'test -r "$1" && test -x "$1"', "sh", location];
}

// The kernel's default overflow gid; a guest user whose gid is that very number gets the one below it instead.
const OverflowGid = 65534;

function overflowGidFor(guestGid: number): number {
  return guestGid === OverflowGid ? OverflowGid - 1 : OverflowGid;
}

/** A range of subordinate ids from /etc/subuid or /etc/subgid. */
export interface SubordinateRange {
  start: number;
  count: number;
}

/** The first range `/etc/subgid` (or `/etc/subuid`) text gives a user, named by login name or numeric id (pure). */
export function subordinateRange(text: string, user: { name: string; id: number }): SubordinateRange | undefined {
  for (const line of text.split("\n")) {
    const [owner, start, count] = line.trim().split(":");
    if (owner !== user.name && owner !== String(user.id)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(range.start) && range.start >= 0 && Number.isSafeInteger(range.count) && range.count > 0) return range;
  }
  return undefined;
}

/** What the host offers for running virtiofsd; read by the driver, judged by virtiofsdLaunchPlan. */
export interface VirtiofsdHostFacts {
  flavour: VirtiofsdFlavour;
  /** The effective uid den runs as. */
  uid: number;
  /** The login name of that uid, for messages and /etc/subgid. */
  userName: string;
  /** The `unshare` binary found on PATH. */
  unshare: string | undefined;
  /** `unshare --help` output (util-linux 2.38 added `--map-groups`). */
  unshareHelp: string;
  /** The `newgidmap` binary found on PATH. */
  newgidmap: string | undefined;
  /** The text of /etc/subgid; undefined when it does not exist. */
  subgid: string | undefined;
}

/** How to launch the daemons, for virtiofsdCommand. */
export interface VirtiofsdLaunchPlan {
  unshare: string | undefined;
  subordinateGid?: number;
  /** Pass the listening socket as this fd instead of letting the daemon create it. */
  listenFd?: number;
}

/** The fd a handed-over socket gets in the daemon: the first after stdin, stdout and stderr. */
export const VirtiofsdListenFd = 3;

/**
 * How virtiofsd can run for this host user (pure). Root keeps the plain namespace (or none without unshare). An
 * ordinary user needs util-linux unshare with `--map-groups`, newgidmap and a subordinate gid range (see the
 * header); what is missing is refused here, before boot, naming the fix.
 */
export function virtiofsdLaunchPlan(facts: VirtiofsdHostFacts): VirtiofsdLaunchPlan {
  if (facts.uid === 0) return { unshare: facts.unshare };
  const cannot = `Cannot run virtiofsd for mountType "virtiofs" as user "${facts.userName}"`;
  const otherTypes = "or use `mountType: 9p` or `mountType: reverse-sshfs`";
  if (facts.unshare === undefined || !facts.unshareHelp.includes("--map-groups")) {
    throw new DenError("HOST_TOOL_MISSING", `${cannot}: it needs util-linux unshare 2.38 or later (with --map-groups)${facts.unshare === undefined ? ", and none is on PATH" : ""}`, {
      hint: `install util-linux 2.38 or later, ${otherTypes}`,
    });
  }
  if (facts.newgidmap === undefined) {
    throw new DenError("HOST_TOOL_MISSING", `${cannot}: newgidmap is missing, and without it an ordinary user's namespace refuses the setgroups() virtiofsd makes`, {
      hint: `install it (Debian/Ubuntu: sudo apt-get install uidmap; Fedora: sudo dnf install shadow-utils), ${otherTypes}`,
    });
  }
  const range = facts.subgid === undefined ? undefined : subordinateRange(facts.subgid, { name: facts.userName, id: facts.uid });
  if (range === undefined) {
    throw new DenError("HOST_TOOL_MISSING", `${cannot}: /etc/subgid gives it no subordinate group IDs, which newgidmap needs to allow the setgroups() virtiofsd makes`, {
      hint: `give it a range no other user has, e.g. \`sudo usermod --add-subgids 100000-165535 ${facts.userName}\`, ${otherTypes}`,
    });
  }
  return { unshare: facts.unshare, subordinateGid: range.start, ...(facts.flavour === "c" && { listenFd: VirtiofsdListenFd }) };
}

/**
 * A value inside the C daemon's `-o a=b,c=d` list, which libfuse's option parser splits at commas: a folder named
 * `/srv/x,source=/` would share `/`. That parser reads `\,` as a comma and `\\` as a backslash. The Rust daemon's
 * `--shared-dir=<path>` and both daemons' `--socket-path=<path>` are whole argv elements and need no escaping.
 */
export function fuseOptValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll(",", "\\,");
}
