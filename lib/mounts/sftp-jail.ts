// The jail of den's built-in SFTP server: maps every path a client sends to a host path inside the served folder,
// or refuses it. The guest is not trusted (root in the guest can send any SFTP packet through sshfs's channel), so
// nothing it sends may reach a file outside the share: not `..`, not an absolute path, not a symlink.
//
// Rules, in order:
// 1. Lexical: the path is made absolute against the share's path as the guest knows it (the mount location, which
//    sshfs puts in front of every path), normalised, and must stay at or under it. `..` is applied here, on the
//    text, so `link/..` never climbs out through a symlink's target.
// 2. Symlinks inside the share: with followSymlinks, the server follows them, one component at a time, and every
//    step (a link's target included) must again be inside the share, checked on the text of the target before
//    anything is touched there: that way a refusal never tells the guest whether an outside path exists. Without
//    followSymlinks the server follows none (sshfs then shows them as links and the guest resolves them itself);
//    any request that would go through one is refused.
// 3. After opening a file, the server checks what it really opened (`checkOpened`), see there.
import { lstatSync, readlinkSync, realpathSync, type Stats } from "node:fs";
import { type FileHandle, lstat, readlink, realpath, statfs } from "node:fs/promises";
import { posix } from "node:path";
import { SftpStatus, SftpStatusError } from "./sftp-packet.ts";

export interface SftpJailOptions {
  /** `sshfs.followSymlinks`: follow symlinks that stay inside the share; without it, follow none. */
  followSymlinks: boolean;
}

export interface JailedPath {
  /** The host path, inside the share's real folder, with no symlink in it (except, when asked for, the last component). */
  path: string;
  /** lstat of `path` when the resolution needed it anyway; undefined when not fetched or the file does not exist. */
  info?: Stats;
}

/** Linux's limit on symlinks in one path; more is a loop. */
const MaxSymlinkHops = 40;
/**
 * statfs magic numbers of Linux file systems whose calls can stall for long (network, FUSE, 9p, cluster): NFS, SMB,
 * CIFS, SMB2, FUSE (sshfs, virtiofs too), 9p, Ceph, AFS, Coda, GFS2, OCFS2, Lustre.
 */
const SlowFileSystems = new Set([0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546, 0x01021997, 0x00c36400, 0x5346414f, 0x73757245, 0x01161970, 0x7461636f, 0x0bd00bd0]);

export class SftpJail {
  /** The share's path as the client names it (the mount location, normalised). */
  readonly visibleRoot: string;
  /** The share's real path on the host (symlinks in the location resolved). */
  readonly realRoot: string;
  readonly followSymlinks: boolean;
  /**
   * Whether the checks' lstat/realpath/readlink run as blocking calls. Each request needs two or three of them,
   * and on a local Linux file system a blocking one takes a few microseconds where Bun's promise version costs
   * 15-20 µs in its thread-pool round trip: the difference is what lets the jail keep up with OpenSSH's server on
   * small files (bench/sftp.bench.ts). On a network or FUSE file system (or elsewhere than Linux, where den does not
   * know the magic numbers) a call can stall for seconds, so there they stay asynchronous and the host agent never
   * waits on them. File contents are always read and written asynchronously.
   */
  readonly blockingChecks: boolean;

  private constructor(visibleRoot: string, realRoot: string, options: SftpJailOptions & { blockingChecks: boolean }) {
    this.visibleRoot = visibleRoot;
    this.realRoot = realRoot;
    this.followSymlinks = options.followSymlinks;
    this.blockingChecks = options.blockingChecks;
  }

  /** A jail on `root` (an absolute host path); the folder must exist. */
  static async create(root: string, options: SftpJailOptions): Promise<SftpJail> {
    const visible = posix.resolve("/", root);
    const real = await realpath(visible);
    const local = process.platform === "linux" && !SlowFileSystems.has((await statfs(real)).type);
    return new SftpJail(visible, real, { ...options, blockingChecks: local });
  }

  /** lstat, undefined for a missing file. */
  async lstat(path: string): Promise<Stats | undefined> {
    try {
      return this.blockingChecks ? lstatSync(path) : await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async #realpath(path: string): Promise<string | undefined> {
    try {
      return this.blockingChecks ? realpathSync(path) : await realpath(path);
    } catch {
      return undefined;
    }
  }

  async #readlink(path: string): Promise<string> {
    return this.blockingChecks ? readlinkSync(path) : await readlink(path);
  }

  /**
   * The host path for a client path. `followLast`: whether a symlink as the last component is followed (STAT, OPEN)
   * or meant itself (LSTAT, READLINK, REMOVE, RENAME). A missing last component is fine (it may be created);
   * a missing folder before it is NO_SUCH_FILE.
   */
  async resolve(clientPath: string, options: { followLast: boolean }): Promise<JailedPath> {
    const parts = this.#visibleParts(clientPath);
    if (parts === undefined) throw outside();
    if (parts.length === 0) return { path: this.realRoot };
    // Fast path, taken by every request sshfs makes on a tree without symlinks: the parent's realpath is exactly
    // the text, so no component before the last is a symlink. realpath may look outside the share when a symlink
    // points there, but its answer is only compared, never returned, and any difference takes the slow walk below.
    const parentParts = parts.slice(0, -1);
    const parent = posix.join(this.realRoot, ...parentParts);
    const realParent = parentParts.length === 0 ? parent : await this.#realpath(parent);
    if (realParent !== parent) return this.#walk(parts, options.followLast);
    const path = posix.join(parent, parts.at(-1) as string);
    if (!options.followLast) return { path };
    const info = await this.lstat(path);
    if (info?.isSymbolicLink()) return this.#walk(parts, true);
    return { path, info };
  }

  /** The name a REALPATH reply gives for a host path inside the share: the client never learns the real root. */
  visiblePath(path: string): string {
    if (path === this.realRoot) return this.visibleRoot;
    return posix.join(this.visibleRoot, path.slice(this.realRoot.length + (this.realRoot === "/" ? 0 : 1)));
  }

  /** The lexical form of a client path (REALPATH without following symlinks); refuses one outside the share. */
  normalise(clientPath: string): string {
    const parts = this.#visibleParts(clientPath);
    if (parts === undefined) throw outside();
    return posix.join(this.visibleRoot, ...parts);
  }

  /**
   * Checks, after the open, that `file` (opened from `path`, last component with O_NOFOLLOW) is a
   * file inside the share. `resolve` checked the path, but another writer in the share (a second mount of an
   * overlapping folder, a host process) could swap a folder on it for a symlink between that check and the open.
   * On Linux the kernel's own name for the open file, /proc/self/fd/N, tells where it really is; elsewhere the
   * parent is resolved again and the file must be the same inode as the one now at `path`. Requests of one session
   * are answered one at a time, so the guest alone cannot race itself here. What the check cannot undo is an
   * O_CREAT that such a race sent outside: the empty file exists, but the handle is refused, so nothing is written
   * to it or read through it. (openat2's RESOLVE_BENEATH would close that too; Bun has no openat.)
   */
  async checkOpened(file: FileHandle, path: string): Promise<boolean> {
    if (process.platform === "linux") {
      const opened = await this.#readlink(`/proc/self/fd/${file.fd}`).catch(() => undefined);
      if (opened !== undefined) return this.#isInsideReal(opened.replace(/ \(deleted\)$/, ""));
    }
    if (!this.#isInsideReal(path) || (await this.#realpath(posix.dirname(path))) !== posix.dirname(path)) return false;
    const [opened, named] = await Promise.all([file.stat(), this.lstat(path)]);
    return named !== undefined && opened.dev === named.dev && opened.ino === named.ino;
  }

  /** Follows the components one by one; each symlink's target is checked on its text before it is looked at. */
  async #walk(parts: string[], followLast: boolean): Promise<JailedPath> {
    const done: string[] = [];
    const remaining = [...parts];
    let hops = 0;
    while (remaining.length > 0) {
      const name = remaining.shift() as string;
      if (name === "..") {
        if (done.length === 0) throw outside();
        done.pop();
        continue;
      }
      const path = posix.join(this.realRoot, ...done, name);
      const last = remaining.length === 0;
      if (last && !followLast) return { path };
      const info = await this.lstat(path);
      if (info === undefined) {
        if (last) return { path };
        throw new SftpStatusError(SftpStatus.NoSuchFile, "no such file");
      }
      if (info.isSymbolicLink()) {
        if (!this.followSymlinks) throw new SftpStatusError(SftpStatus.PermissionDenied, "symlinks are not followed on this mount (sshfs.followSymlinks is false)");
        if (++hops > MaxSymlinkHops) throw new SftpStatusError(SftpStatus.Failure, "too many levels of symbolic links");
        const target = await this.#readlink(path);
        if (posix.isAbsolute(target)) {
          const inside = this.#targetParts(target);
          if (inside === undefined) throw outside();
          done.length = 0;
          remaining.unshift(...inside);
        } else {
          // Relative to the link's folder; `done` holds no symlink, so `..` in the target just drops a component.
          remaining.unshift(...target.split("/").filter((part) => part !== "" && part !== "."));
        }
        continue;
      }
      if (!last && !info.isDirectory()) throw new SftpStatusError(SftpStatus.NoSuchFile, "not a directory");
      done.push(name);
      if (last) return { path, info };
    }
    return { path: posix.join(this.realRoot, ...done) };
  }

  /** The components of a client path under the visible root, or undefined when it is outside. */
  #visibleParts(clientPath: string): string[] | undefined {
    return partsUnder(posix.resolve(this.visibleRoot, clientPath), this.visibleRoot);
  }

  /** An absolute symlink target may name the share by its location or by its real path. */
  #targetParts(target: string): string[] | undefined {
    const normal = posix.normalize(target);
    return partsUnder(normal, this.realRoot) ?? partsUnder(normal, this.visibleRoot);
  }

  #isInsideReal(path: string): boolean {
    return partsUnder(posix.normalize(path), this.realRoot) !== undefined;
  }
}

/** The components of normalised absolute `path` below `root`, [] for the root itself, undefined when outside. */
function partsUnder(path: string, root: string): string[] | undefined {
  if (path === root) return [];
  const prefix = root === "/" ? "/" : `${root}/`;
  if (!path.startsWith(prefix)) return undefined;
  return path.slice(prefix.length).split("/").filter((part) => part !== "");
}

function outside(): SftpStatusError {
  return new SftpStatusError(SftpStatus.PermissionDenied, "the path is outside the shared folder");
}
