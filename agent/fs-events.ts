// Reproduces file changes made on the host as inotify events on the same paths in the guest (mountInotify).
//
// A shared folder's files change behind the guest kernel's back: the host writes them, and 9p, virtiofs and sshfs
// have no way to tell the guest, so nothing in the guest emits inotify events. There is no API to inject one either;
// the only way is to make the guest kernel itself do something to the file that emits the event. fsnotify hooks fire
// in the VFS after the filesystem call succeeded, so which operations work is decided by what each filesystem (and
// the host-side server behind it) accepts. Nothing here may change contents: no write of bytes, no truncate (not
// even to the same size: a host write racing it would be cut), no O_CREAT (a file deleted on the host in the
// meantime would come back as an empty file, e.g. a stale `.git/index.lock`), no rename of the user's files, no
// temporary entries in the user's folders.
//
// Measured in the test guest (Debian 12, kernel 6.1; QEMU 7.2 9p and virtiofsd; sshfs 3.7.3 against OpenSSH's
// sftp-server), each operation run as root on a file the host had just changed; "=" means the host file's bytes,
// size and mtime were identical afterwards (only its ctime moved):
//
//   operation (guest side)                     9p rw (mmap)   virtiofs       sshfs rw       any read-only mount
//   open(O_WRONLY, no CREAT/TRUNC) + close     OPEN,CLOSE_W = OPEN,CLOSE_W =  OPEN,CLOSE_W = EROFS, nothing
//   utimensat(own atime, own mtime)            ATTRIB, mtime  ATTRIB =       ATTRIB, mtime  EROFS
//   utimensat(OMIT, own mtime)                 MODIFY, mtime  MODIFY =       MODIFY, mtime  EROFS
//   fallocate(KEEP_SIZE, 0, 1)                 EOPNOTSUPP     MODIFY, mtime→now  EOPNOTSUPP  EROFS
//   fchmod(own mode)                           ATTRIB =       ATTRIB =       ATTRIB =       EROFS
//   set + remove a user.* xattr                ATTRIB =       EOPNOTSUPP     EOPNOTSUPP     EROFS
//   open(O_RDONLY) + read 1 byte + close       OPEN,ACCESS,CLOSE_NOWRITE = on every mount
//   open(O_CREAT) on a name the guest had      OPEN,CLOSE_W: no CREATE, the kernel looks the name up first; on a
//     not looked up yet                        file deleted on the host it CREATEs it again (9p) — never used
//   create + delete a temporary entry          CREATE,DELETE of the temporary name: writes the user's folder — not used
//   the same operations on a folder            the same events with ISDIR, on the folder's watch and its parent's
//
// "mtime" marks a rounding: the 9p client keeps whole seconds (v9fs leaves the superblock's time granularity at
// 1 s) and SFTP v3 carries whole seconds, so re-setting "the same" time moves the file back by up to a second,
// enough for `make` to skip a rebuild; fallocate on ext4/tmpfs hosts stamps mtime with the current time. A host-side
// delete leaves nothing behind in the guest to act on: the next lookup simply fails (no event), the kernel offers
// no event for "this name went away" short of unlinking it ourselves, which would race with the host re-creating it.
//
// So, per event (writable mount; read-only mounts get the O_RDONLY row instead, folders an O_RDONLY open):
//   modify, create  open(O_WRONLY) → OPEN; virtiofs/local disks: futimens(OMIT, own mtime) → MODIFY, 9p/sshfs:
//                   fchmod(own mode) → ATTRIB; close → CLOSE_WRITE. A folder: OPEN, MODIFY or ATTRIB, CLOSE_NOWRITE.
//   delete          the same on the parent folder: …,ISDIR events on it, which watchers answer by rescanning it.
// Own values are read with statx(AT_STATX_FORCE_SYNC) on the open fd: a path stat on sshfs answers from sshfs's
// own cache (seconds stale); the fd-based one asks the server.
//
// Known limit: on 9p with cache=mmap (Lima's default for writable 9p) the kernel does not keep inodes of nested
// folders, so a watch on a subfolder sits on an inode later lookups no longer use; not even the guest's own writes
// reach it. Only watches on the mount point itself see events there. The same holds when den runs as an ordinary
// user (measured again for issue 13); cache=loose delivers subfolder events but then shows stale file contents. den
// start says so at boot (lib/mounts/inotify/mount-inotify-warnings.ts).
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, constants, openSync, readFileSync, readSync } from "node:fs";
import { dirname } from "node:path";
import type { GuestFsEvent } from "./protocol/messages.ts";

/** One mounted filesystem from /proc/self/mountinfo. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/**
 * How a touch re-sets metadata to the value it already has: "mtime" (emits MODIFY) only where times are carried
 * with full nanosecond precision; "mode" (emits ATTRIB) elsewhere. 9p (the Linux client keeps whole seconds:
 * v9fs leaves the superblock's time granularity at 1 s) and sshfs (SFTP v3 carries whole seconds) would round
 * "the same" mtime down and move the file back in time by up to a second, which can make `make` skip a rebuild.
 */
export type SameValueSetter = "mtime" | "mode";

/** What applyFsEvents does for one path: touch the entry itself, or the folder that held a deleted entry. */
export interface FsTouch {
  path: string;
  /** "entry": the path should exist (create/modify); "folder": a child of it is gone (delete). */
  target: "entry" | "folder";
  setter: SameValueSetter;
}

/** The mount points and filesystem types of /proc/self/mountinfo (pure). */
export function parseMountInfo(text: string): MountEntry[] {
  const mounts: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    const mountPoint = fields[4];
    const fsType = fields[separator + 1];
    if (separator < 0 || mountPoint === undefined || fsType === undefined) continue;
    mounts.push({ mountPoint: unescapeMountInfo(mountPoint), fsType });
  }
  return mounts;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescapeMountInfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The filesystem type a path lives on: the longest mount point containing it; the last mount wins on ties. */
export function fsTypeOf(path: string, mounts: readonly MountEntry[]): string | undefined {
  let best: MountEntry | undefined;
  for (const mount of mounts) {
    const inside = mount.mountPoint === "/" || path === mount.mountPoint || path.startsWith(`${mount.mountPoint}/`);
    if (inside && (best === undefined || mount.mountPoint.length >= best.mountPoint.length)) best = mount;
  }
  return best?.fsType;
}

// Filesystems known to store and accept nanosecond times; anything else (9p, fuse.sshfs, nfs, …) gets "mode".
const exactTimeFilesystems = new Set(["virtiofs", "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "zfs"]);

/** The setter that is exact on a filesystem type (see SameValueSetter). */
export function setterFor(fsType: string | undefined): SameValueSetter {
  return fsType !== undefined && exactTimeFilesystems.has(fsType) ? "mtime" : "mode";
}

/**
 * Turns events into touches (pure): one per path, a delete becomes a touch of its folder, and a folder is touched
 * once however many of its children went. Paths that are not absolute are dropped.
 */
export function planFsTouches(events: readonly GuestFsEvent[], mounts: readonly MountEntry[]): FsTouch[] {
  const touches = new Map<string, FsTouch>();
  for (const event of events) {
    const path = normalizeGuestPath(event.path);
    if (path === undefined) continue;
    const target = event.kind === "delete" ? dirname(path) : path;
    const kind = event.kind === "delete" ? "folder" : "entry";
    const key = `${kind}\0${target}`;
    // A later event for the same path replaces the earlier one's position: the order of touches follows the
    // order in which paths last changed.
    touches.delete(key);
    touches.set(key, { path: target, target: kind, setter: setterFor(fsTypeOf(target, mounts)) });
  }
  return [...touches.values()];
}

function normalizeGuestPath(path: string): string | undefined {
  if (!path.startsWith("/") || path.includes("\0")) return undefined;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

export interface ApplyFsEventsOptions {
  /** The mount table; read from /proc/self/mountinfo when absent. */
  mounts?: readonly MountEntry[];
}

// Long batches are applied in slices so the agent's other work (port forwarding, streams) keeps running.
const sliceMs = 10;

// Touches not applied yet, shared by all calls: a batch arriving while an earlier one is still being applied merges
// into it, so a guest that falls behind does each path once instead of once per batch.
const queue = new Map<string, FsTouch>();
let draining: Promise<void> | undefined;

/**
 * Makes the guest kernel emit inotify events for changes made on the host; resolves once these events' paths have
 * been touched. Never throws: a path that is gone, not permitted or on a filesystem that refuses an operation
 * simply gets fewer events.
 */
export async function applyFsEvents(events: readonly GuestFsEvent[], options: ApplyFsEventsOptions = {}): Promise<void> {
  if (events.length === 0) return;
  let mounts = options.mounts;
  if (mounts === undefined) {
    try {
      mounts = parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
    } catch {
      mounts = [];
    }
  }
  for (const touch of planFsTouches(events, mounts)) {
    const key = `${touch.target}\0${touch.path}`;
    queue.delete(key);
    queue.set(key, touch);
  }
  // Looping covers a batch queued just as a drain finished, before its promise settled.
  while (queue.size > 0) {
    draining ??= drainQueue().finally(() => {
      draining = undefined;
    });
    await draining;
  }
}

async function drainQueue(): Promise<void> {
  const libc = loadLibc();
  let sliceStart = performance.now();
  for (const [key, touch] of queue) {
    queue.delete(key);
    try {
      if (libc !== undefined) applyTouch(libc, touch);
    } catch {
      // One path must not stop the others; every failure here only means fewer events.
    }
    if (performance.now() - sliceStart > sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

function applyTouch(libc: Libc, touch: FsTouch): void {
  if (touch.target === "folder") {
    touchEntry(libc, touch.path, touch.setter);
    return;
  }
  // A path gone by now (or never seen) still changed its folder.
  if (!touchEntry(libc, touch.path, touch.setter)) touchEntry(libc, dirname(touch.path), touch.setter);
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_ISGID = 0o2000;
const openFlags = constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY;

/** Touches one existing file or folder; false when it does not exist or is neither (symlink, fifo, socket, device). */
function touchEntry(libc: Libc, path: string, setter: SameValueSetter): boolean {
  const type = libc.statType(path);
  if (type !== S_IFREG && type !== S_IFDIR) return false;
  const directory = type === S_IFDIR;
  // Opening for writing never changes a file without O_TRUNC, and closing it is what emits CLOSE_WRITE, the event
  // "a file was written" watchers wait for. A read-only mount (EROFS), a file the host user may not write (EACCES)
  // or a running binary (ETXTBSY) get a read instead.
  const fd = directory ? tryOpen(path, constants.O_RDONLY | constants.O_DIRECTORY) : tryOpen(path, constants.O_WRONLY);
  if (fd !== undefined) {
    try {
      libc.setSameValue(fd, setter);
    } finally {
      closeSync(fd);
    }
    return true;
  }
  if (directory) return true;
  const readFd = tryOpen(path, constants.O_RDONLY);
  if (readFd === undefined) return false;
  try {
    // A read of at least one byte is what emits ACCESS; the fd is a regular file, so this never blocks.
    readSync(readFd, Buffer.alloc(1), 0, 1, 0);
  } catch {
    // EIO and the like: the OPEN and CLOSE_NOWRITE still happened.
  } finally {
    closeSync(readFd);
  }
  return true;
}

function tryOpen(path: string, flags: number): number | undefined {
  try {
    return openSync(path, flags | openFlags);
  } catch {
    return undefined;
  }
}

interface Libc {
  /** The S_IFMT bits of lstat(path), or undefined when it cannot be stat'ed. */
  statType(path: string): number | undefined;
  /** Re-sets the fd's mtime or mode to the value the server has right now (bypassing the guest's caches). */
  setSameValue(fd: number, setter: SameValueSetter): void;
}

let libcCache: Libc | null | undefined;

function loadLibc(): Libc | undefined {
  if (libcCache === undefined) libcCache = openLibc() ?? null;
  return libcCache ?? undefined;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
// Makes FUSE and 9p ask the server instead of answering from the guest's attribute cache, which can be seconds
// old: re-setting a stale mtime would move the file back in time.
const AT_STATX_FORCE_SYNC = 0x2000;
const STATX_TYPE = 0x1;
const STATX_MODE = 0x2;
const STATX_MTIME = 0x40;
const UTIME_OMIT = (1 << 30) - 2;
// struct statx offsets (the layout is the same on every architecture).
const statxModeOffset = 28;
const statxMtimeOffset = 112;

function openLibc(): Libc | undefined {
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  const symbols = {
    statx: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
    futimens: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    fchmod: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  } as const;
  for (const name of ["libc.so.6", `libc.musl-${arch}.so.1`]) {
    let library;
    try {
      library = dlopen(name, symbols);
    } catch {
      continue;
    }
    const { statx, futimens, fchmod } = library.symbols;
    const buffer = new Uint8Array(256);
    const view = new DataView(buffer.buffer);
    const emptyPath = Buffer.from("\0");
    return {
      statType(path) {
        if (statx(AT_FDCWD, Buffer.from(`${path}\0`), AT_SYMLINK_NOFOLLOW, STATX_TYPE, buffer) !== 0) return undefined;
        return view.getUint16(statxModeOffset, true) & S_IFMT;
      },
      setSameValue(fd, setter) {
        const mask = setter === "mtime" ? STATX_MTIME : STATX_MODE;
        if (statx(fd, emptyPath, AT_EMPTY_PATH | AT_STATX_FORCE_SYNC, mask, buffer) !== 0) return;
        if (setter === "mode") {
          const mode = view.getUint16(statxModeOffset, true) & 0o7777;
          // chmod by a process outside the file's group (the server on the host runs as the user) silently drops
          // setgid, so such files get no ATTRIB rather than a changed mode.
          if ((mode & S_ISGID) === 0) fchmod(fd, mode);
          return;
        }
        // Only the mtime is given (atime omitted): the kernel reports a lone mtime change as MODIFY, both times as
        // ATTRIB.
        const times = new BigInt64Array([0n, BigInt(UTIME_OMIT), view.getBigInt64(statxMtimeOffset, true), BigInt(view.getUint32(statxMtimeOffset + 8, true))]);
        futimens(fd, times);
      },
    };
  }
  return undefined;
}
