// den's own SFTP server (`sshfs.sftpDriver: builtin`, and the fallback when no OpenSSH sftp-server is installed): serves one host folder over any byte stream, in
// practice the stdin/stdout of `sshfs -o slave` in the guest. It implements what sshfs uses of SFTP v3 plus
// OpenSSH's posix-rename, statvfs, hardlink and fsync extensions.
// It is a jail, unlike OpenSSH's `sftp-server -d`: the guest is not trusted, and every path it sends goes through
// SftpJail (sftp-jail.ts) before the file system sees it. A new request type must do the same: never hand a path
// from a packet to node:fs directly.
// Requests are answered one at a time, in order, so a write is never overtaken by a later read of the same bytes.
// Input is paused while many requests wait and while the peer does not read its replies, so a guest that floods
// requests or stops reading cannot make the host agent buffer without bound.
import { constants, type Dirent } from "node:fs";
import { type FileHandle, link, lchown, lstat, lutimes, mkdir, open, readdir, readlink, realpath, rename, rmdir, statfs, symlink, unlink, chmod } from "node:fs/promises";
import type { Duplex } from "node:stream";
import { SftpOpenFlags, SftpPacketSplitter, SftpPacketType as T, SftpReader, SftpStatusError, SftpWriter, MaxPacketLength, SftpStatus, type SftpAttrs } from "./sftp-packet.ts";
import { SftpJail } from "./sftp-jail.ts";

export interface BuiltinSftpOptions {
  /** The host folder (absolute): the guest reaches nothing outside it. sshfs names it by this path. */
  root: string;
  /** Refuse every request that would change the host file system (the mount is not `writable`). */
  readOnly: boolean;
  /** `sshfs.followSymlinks`: follow symlinks that stay inside the folder; without it, follow none. */
  followSymlinks: boolean;
  /** Open file and folder handles allowed at once; default 1024. */
  maxHandles?: number;
  /** Called with a short reason when the peer sends something that ends the session. */
  onProtocolError?: (message: string) => void;
}

export interface BuiltinSftpSession {
  /** Settles when the stream ends; every open file is closed by then. */
  done: Promise<void>;
}

const Extensions: [string, string][] = [
  ["posix-rename@openssh.com", "1"],
  ["statvfs@openssh.com", "2"],
  ["fstatvfs@openssh.com", "2"],
  ["hardlink@openssh.com", "1"],
  ["fsync@openssh.com", "1"],
];
const ReaddirBatch = 100;
/** A READ reply must fit in one packet with its header. */
const MaxReadLength = MaxPacketLength - 1024;
const DefaultMaxHandles = 1024;
/** Requests read ahead of the one being answered; beyond this the stream is paused. sshfs keeps far fewer in flight. */
const MaxQueuedRequests = 64;
const StRdonly = 0x1;
const WriteFlags = SftpOpenFlags.Write | SftpOpenFlags.Append | SftpOpenFlags.Create | SftpOpenFlags.Truncate;

type Handle = { kind: "file"; file: FileHandle; path: string } | { kind: "dir"; path: string; pending: string[] | undefined };

/** Serves SFTP on `stream` until it ends. */
export function serveBuiltinSftp(stream: Duplex, options: BuiltinSftpOptions): BuiltinSftpSession {
  const handles = new Map<string, Handle>();
  const maxHandles = options.maxHandles ?? DefaultMaxHandles;
  let nextHandle = 1;
  const splitter = new SftpPacketSplitter();
  const inbox: Buffer[] = [];
  let pumping: Promise<void> | undefined;
  const done = Promise.withResolvers<void>();
  const jailReady = SftpJail.create(options.root, { followSymlinks: options.followSymlinks });
  jailReady.catch(() => {});

  const fail = (message: string) => {
    options.onProtocolError?.(message);
    stream.destroy();
  };
  const addHandle = (handle: Handle) => {
    if (handles.size >= maxHandles) throw new SftpStatusError(SftpStatus.Failure, `too many open handles (the limit is ${maxHandles})`);
    const id = String(nextHandle++);
    handles.set(id, handle);
    return id;
  };
  const getHandle = <K extends Handle["kind"]>(id: string, kind: K): Extract<Handle, { kind: K }> => {
    const handle = handles.get(id);
    if (!handle || handle.kind !== kind) throw new SftpStatusError(SftpStatus.Failure, "invalid handle");
    return handle as Extract<Handle, { kind: K }>;
  };
  const refuseWhenReadOnly = () => {
    if (options.readOnly) throw new SftpStatusError(SftpStatus.PermissionDenied, "read-only mount");
  };

  const handle = async (packet: Buffer): Promise<Buffer | undefined> => {
    const type = packet[0];
    const reader = new SftpReader(packet);
    if (type === T.Init) {
      const version = new SftpWriter(T.Version).uint32(3);
      for (const [name, data] of Extensions) version.string(name).string(data);
      return version.finish();
    }
    const id = reader.uint32();
    const status = (code: number, message = "") => new SftpWriter(T.Status).uint32(id).uint32(code).string(message).string("").finish();
    const ok = () => status(SftpStatus.Ok);
    const attrsReply = (attrs: SftpAttrs) => new SftpWriter(T.Attrs).uint32(id).attrs(attrs).finish();
    const handleReply = (handleId: string) => new SftpWriter(T.Handle).uint32(id).string(handleId).finish();
    const nameReply = (entries: { name: string; attrs: SftpAttrs }[]) => {
      const writer = new SftpWriter(T.Name).uint32(id).uint32(entries.length);
      for (const entry of entries) writer.string(entry.name).string(longName(entry.name, entry.attrs)).attrs(entry.attrs);
      return writer.finish();
    };
    try {
      const jail = await jailReady.catch((error: unknown) => {
        throw new SftpStatusError(SftpStatus.NoSuchFile, `the shared folder cannot be opened: ${errorText(error)}`);
      });
      /** A path meant as itself (a symlink is the link): what REMOVE, RENAME, MKDIR and the like change. */
      const entry = async (path: string) => {
        const resolved = (await jail.resolve(path, { followLast: false })).path;
        if (resolved === jail.realRoot) throw new SftpStatusError(SftpStatus.PermissionDenied, "the shared folder itself cannot be changed");
        return resolved;
      };
      const lstatExisting = async (path: string) => {
        const info = await jail.lstat(path);
        if (info === undefined) throw new SftpStatusError(SftpStatus.NoSuchFile, "no such file");
        return info;
      };
      /** A path whose symlinks are followed (inside the share) when followSymlinks is on; lstat of the result. */
      const followed = async (path: string) => {
        const resolved = await jail.resolve(path, { followLast: true });
        return { path: resolved.path, info: resolved.info ?? (await lstatExisting(resolved.path)) };
      };

      switch (type) {
        case T.Open: {
          const path = reader.string();
          const pflags = reader.uint32();
          const attrs = reader.attrs();
          if (pflags & WriteFlags) refuseWhenReadOnly();
          if (handles.size >= maxHandles) throw new SftpStatusError(SftpStatus.Failure, `too many open handles (the limit is ${maxHandles})`);
          const opened = await openJailed(jail, path, openFlags(pflags), attrs.mode === undefined ? 0o666 : attrs.mode & 0o7777);
          return handleReply(addHandle({ kind: "file", ...opened }));
        }
        case T.Close: {
          const handleId = reader.string();
          const closing = handles.get(handleId);
          if (!closing) return status(SftpStatus.Failure, "invalid handle");
          handles.delete(handleId);
          if (closing.kind === "file") await closing.file.close();
          return ok();
        }
        case T.Read: {
          const file = getHandle(reader.string(), "file");
          const offset = reader.uint64();
          const length = Math.min(reader.uint32(), MaxReadLength);
          const buffer = Buffer.allocUnsafe(length);
          const { bytesRead } = await file.file.read(buffer, 0, length, offset);
          if (bytesRead === 0 && length > 0) return status(SftpStatus.Eof, "end of file");
          return new SftpWriter(T.Data).uint32(id).bytes(buffer.subarray(0, bytesRead)).finish();
        }
        case T.Write: {
          const file = getHandle(reader.string(), "file");
          const offset = reader.uint64();
          const data = reader.bytes();
          refuseWhenReadOnly();
          let written = 0;
          while (written < data.length) {
            const { bytesWritten } = await file.file.write(data, written, data.length - written, offset + written);
            written += bytesWritten;
          }
          return ok();
        }
        case T.Lstat:
          return attrsReply(toAttrs(await lstatExisting((await jail.resolve(reader.string(), { followLast: false })).path)));
        case T.Stat:
          return attrsReply(toAttrs((await followed(reader.string())).info));
        case T.Fstat:
          return attrsReply(toAttrs(await getHandle(reader.string(), "file").file.stat()));
        case T.Setstat: {
          const path = reader.string();
          const attrs = reader.attrs();
          refuseWhenReadOnly();
          await setAttrs(jail, path, attrs);
          return ok();
        }
        case T.Fsetstat: {
          const file = getHandle(reader.string(), "file");
          const attrs = reader.attrs();
          refuseWhenReadOnly();
          await applyAttrs(attrs, file.file);
          return ok();
        }
        case T.Opendir: {
          const { path, info } = await followed(reader.string());
          if (!info.isDirectory()) return status(SftpStatus.Failure, "not a directory");
          if (handles.size >= maxHandles) throw new SftpStatusError(SftpStatus.Failure, `too many open handles (the limit is ${maxHandles})`);
          return handleReply(addHandle({ kind: "dir", path, pending: undefined }));
        }
        case T.Readdir: {
          const dir = getHandle(reader.string(), "dir");
          if (dir.pending === undefined) {
            const names = (await readdir(dir.path, { withFileTypes: true })).map((dirent: Dirent) => dirent.name);
            // The folder was checked at OPENDIR; it must still be that folder (not swapped for a symlink since).
            if ((await realpath(dir.path)) !== dir.path) throw new SftpStatusError(SftpStatus.PermissionDenied, "the folder changed while open");
            dir.pending = [".", "..", ...names];
          }
          if (dir.pending.length === 0) return status(SftpStatus.Eof, "end of directory");
          const batch = dir.pending.splice(0, ReaddirBatch);
          // lstat, never stat: a listing shows a symlink as a link, and so never looks at where it points.
          const infos = await Promise.all(batch.map((name) => jail.lstat(`${dir.path}/${name}`).catch(() => undefined)));
          const entries: { name: string; attrs: SftpAttrs }[] = [];
          // A file deleted between readdir and lstat is simply left out.
          for (const [i, info] of infos.entries()) if (info) entries.push({ name: batch[i] as string, attrs: toAttrs(info) });
          return nameReply(entries);
        }
        case T.Remove: {
          const path = await entry(reader.string());
          refuseWhenReadOnly();
          await unlink(path);
          return ok();
        }
        case T.Mkdir: {
          const path = await entry(reader.string());
          const attrs = reader.attrs();
          refuseWhenReadOnly();
          await mkdir(path, attrs.mode === undefined ? 0o777 : attrs.mode & 0o7777);
          return ok();
        }
        case T.Rmdir: {
          const path = await entry(reader.string());
          refuseWhenReadOnly();
          await rmdir(path);
          return ok();
        }
        case T.Realpath: {
          const path = reader.string() || ".";
          // The answer names the share by the path the guest knows, never by anything outside it. Without
          // followSymlinks it is the normalised text (the guest resolves links itself); with it, links are
          // resolved inside the share. A path that does not exist yet still gets its normalised form, as OpenSSH answers.
          if (!jail.followSymlinks) return nameReply([{ name: jail.normalise(path), attrs: {} }]);
          const resolved = await jail.resolve(path, { followLast: true }).catch((error: unknown) => {
            if (error instanceof SftpStatusError && error.status === SftpStatus.NoSuchFile) return { path: undefined };
            throw error;
          });
          return nameReply([{ name: resolved.path === undefined ? jail.normalise(path) : jail.visiblePath(resolved.path), attrs: {} }]);
        }
        case T.Rename: {
          const from = await entry(reader.string());
          const to = await entry(reader.string());
          refuseWhenReadOnly();
          // SFTP v3 rename does not replace an existing target; posix-rename does.
          if ((await jail.lstat(to)) !== undefined) return status(SftpStatus.Failure, "target exists");
          await rename(from, to);
          return ok();
        }
        case T.Readlink: {
          // The target is only text (a guest may store any); following it is what the jail guards.
          const target = await readlink((await jail.resolve(reader.string(), { followLast: false })).path);
          return nameReply([{ name: target, attrs: {} }]);
        }
        case T.Symlink: {
          // OpenSSH (and so sshfs) sends the target first and the link's path second, the reverse of the draft.
          const target = reader.string();
          const path = await entry(reader.string());
          refuseWhenReadOnly();
          await symlink(target, path);
          return ok();
        }
        case T.Extended:
          return await extended(reader.string(), reader, jail, entry);
        default:
          return status(SftpStatus.OpUnsupported, `unsupported request type ${type}`);
      }
    } catch (error) {
      if (error instanceof SftpStatusError) return status(error.status, error.message);
      if (error instanceof RangeError) return status(SftpStatus.BadMessage, "malformed request");
      return status(errnoStatus(error), errorText(error));
    }

    async function extended(name: string, args: SftpReader, jail: SftpJail, entry: (path: string) => Promise<string>): Promise<Buffer> {
      switch (name) {
        case "posix-rename@openssh.com": {
          const from = await entry(args.string());
          const to = await entry(args.string());
          refuseWhenReadOnly();
          await rename(from, to);
          return ok();
        }
        case "hardlink@openssh.com": {
          const from = await entry(args.string());
          const to = await entry(args.string());
          refuseWhenReadOnly();
          // Linux links a symlink itself; macOS's link() would link the file it points to, which may be outside.
          if (process.platform !== "linux" && (await lstat(from)).isSymbolicLink()) return status(SftpStatus.PermissionDenied, "cannot hard-link a symlink");
          await link(from, to);
          return ok();
        }
        case "fsync@openssh.com":
          await getHandle(args.string(), "file").file.sync();
          return ok();
        case "statvfs@openssh.com":
        case "fstatvfs@openssh.com": {
          const path = name === "statvfs@openssh.com" ? (await jail.resolve(args.string(), { followLast: true })).path : getHandle(args.string(), "file").path;
          const fs = await statfs(path);
          const reply = new SftpWriter(T.ExtendedReply).uint32(id);
          for (const value of [fs.bsize, fs.bsize, fs.blocks, fs.bfree, fs.bavail, fs.files, fs.ffree, fs.ffree, 0, options.readOnly ? StRdonly : 0, 255]) reply.uint64(value);
          return reply.finish();
        }
        default:
          return status(SftpStatus.OpUnsupported, `unsupported extension ${name}`);
      }
    }
  };

  /** Answers queued requests one by one; waits for the peer to take replies when its side is full. */
  const pump = async () => {
    while (inbox.length > 0 && !stream.destroyed) {
      const packet = inbox.shift() as Buffer;
      if (inbox.length < MaxQueuedRequests / 2 && stream.isPaused()) stream.resume();
      const reply = await handle(packet).catch((error: unknown) => {
        fail(`cannot answer an SFTP request: ${errorText(error)}`);
        return undefined;
      });
      // Wait only when write() says the stream is full: "drain" comes only after a write that returned false, so
      // waiting on a byte count of our own would hang whenever the stream's high-water mark is above it (an ssh2
      // channel's is 2 MiB). That high-water mark is what bounds the replies a slow peer leaves unread.
      if (reply && !stream.destroyed && stream.writable && !stream.write(reply)) await drained(stream);
    }
    inbox.length = 0;
    if (!stream.destroyed && stream.isPaused()) stream.resume();
  };
  // `pumping` is cleared only here, after pump() settled, never inside it: a chunk that completes no request (an
  // ssh2 channel delivers at most 32 KiB at a time, so every 32 KiB WRITE arrives split) would otherwise run pump()
  // to its end synchronously, before `pumping` was assigned its promise, leaving a settled promise there for good:
  // nothing was answered again, and idle() spun on it forever, starving the host agent's event loop.
  const startPump = () => {
    if (pumping || inbox.length === 0) return;
    pumping = pump()
      .catch((error: unknown) => fail(`cannot answer an SFTP request: ${errorText(error)}`))
      .finally(() => {
        pumping = undefined;
        startPump();
      });
  };
  const idle = async () => {
    while (pumping) await pumping;
  };

  stream.on("data", (chunk: Buffer) => {
    try {
      inbox.push(...splitter.push(chunk));
    } catch (error) {
      fail(errorText(error));
      return;
    }
    if (inbox.length >= MaxQueuedRequests) stream.pause();
    startPump();
  });
  const finish = () => {
    void idle().then(async () => {
      for (const open of handles.values()) if (open.kind === "file") await open.file.close().catch(() => {});
      handles.clear();
      done.resolve();
    });
  };
  stream.once("close", finish);
  stream.once("end", () => {
    void idle().then(() => stream.end());
  });
  stream.on("error", () => {});
  return { done: done.promise };
}

/**
 * Opens a file inside the jail. The last component is opened with O_NOFOLLOW, so a symlink there (put in place
 * after the path was checked, or one that points outside) fails with ELOOP instead of being followed by the kernel;
 * with followSymlinks the link is then resolved by the jail and its checked target opened the same way. After
 * the open the jail checks what was really opened (see SftpJail.checkOpened for why and what that leaves).
 */
async function openJailed(jail: SftpJail, clientPath: string, flags: number, mode: number): Promise<{ file: FileHandle; path: string }> {
  let path = (await jail.resolve(clientPath, { followLast: false })).path;
  if (path === jail.realRoot) throw new SftpStatusError(SftpStatus.Failure, "is a directory");
  let file: FileHandle;
  try {
    file = await open(path, flags | constants.O_NOFOLLOW, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOOP") throw error;
    if (!jail.followSymlinks) throw new SftpStatusError(SftpStatus.PermissionDenied, "symlinks are not followed on this mount (sshfs.followSymlinks is false)");
    path = (await jail.resolve(clientPath, { followLast: true })).path;
    file = await open(path, flags | constants.O_NOFOLLOW, mode);
  }
  if (!(await jail.checkOpened(file, path))) {
    await file.close();
    throw new SftpStatusError(SftpStatus.PermissionDenied, "the path is outside the shared folder");
  }
  return { file, path };
}

/**
 * SETSTAT by path. The changes go through a file opened like OPEN does (O_NOFOLLOW, checked), so a symlink swapped
 * in never redirects a truncate or chmod outside. A symlink itself (followSymlinks off) can only get its owner and
 * times, which lchown/lutimes set on the link; a file the host user may not open gets them (and its mode) by path,
 * after the jail checked that path.
 */
async function setAttrs(jail: SftpJail, clientPath: string, attrs: SftpAttrs): Promise<void> {
  const target = await jail.resolve(clientPath, { followLast: jail.followSymlinks });
  const info = target.info ?? (await lstat(target.path));
  if (info.isSymbolicLink()) {
    if (attrs.size !== undefined || attrs.mode !== undefined) throw new SftpStatusError(SftpStatus.PermissionDenied, "symlinks are not followed on this mount (sshfs.followSymlinks is false)");
    if (attrs.uid !== undefined && attrs.gid !== undefined) await lchown(target.path, attrs.uid, attrs.gid);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) await lutimes(target.path, attrs.atime, attrs.mtime);
    return;
  }
  const flags = (attrs.size !== undefined ? constants.O_WRONLY : constants.O_RDONLY) | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  let file: FileHandle | undefined;
  try {
    file = await open(target.path, flags);
  } catch (error) {
    if (attrs.size !== undefined || (error as NodeJS.ErrnoException).code !== "EACCES") throw error;
  }
  if (file === undefined) {
    if (attrs.uid !== undefined && attrs.gid !== undefined) await lchown(target.path, attrs.uid, attrs.gid);
    if (attrs.mode !== undefined) await chmod(target.path, attrs.mode & 0o7777);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) await lutimes(target.path, attrs.atime, attrs.mtime);
    return;
  }
  try {
    if (!(await jail.checkOpened(file, target.path))) throw new SftpStatusError(SftpStatus.PermissionDenied, "the path is outside the shared folder");
    await applyAttrs(attrs, file);
  } finally {
    await file.close();
  }
}

function drained(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

function openFlags(pflags: number): number {
  const read = (pflags & SftpOpenFlags.Read) !== 0;
  const write = (pflags & (SftpOpenFlags.Write | SftpOpenFlags.Append)) !== 0;
  let flags = read && write ? constants.O_RDWR : write ? constants.O_WRONLY : constants.O_RDONLY;
  if (pflags & SftpOpenFlags.Append) flags |= constants.O_APPEND;
  if (pflags & SftpOpenFlags.Create) flags |= constants.O_CREAT;
  if (pflags & SftpOpenFlags.Truncate) flags |= constants.O_TRUNC;
  if (pflags & SftpOpenFlags.Exclusive) flags |= constants.O_EXCL;
  return flags;
}

interface StatLike {
  size: number;
  uid: number;
  gid: number;
  mode: number;
  atimeMs: number;
  mtimeMs: number;
}

function toAttrs(info: StatLike): SftpAttrs {
  return { size: info.size, uid: info.uid, gid: info.gid, mode: info.mode, atime: Math.floor(info.atimeMs / 1000), mtime: Math.floor(info.mtimeMs / 1000) };
}

async function applyAttrs(attrs: SftpAttrs, file: FileHandle): Promise<void> {
  if (attrs.size !== undefined) await file.truncate(attrs.size);
  if (attrs.uid !== undefined && attrs.gid !== undefined) await file.chown(attrs.uid, attrs.gid);
  if (attrs.mode !== undefined) await file.chmod(attrs.mode & 0o7777);
  if (attrs.atime !== undefined && attrs.mtime !== undefined) await file.utimes(attrs.atime, attrs.mtime);
}

/** An `ls -l` style line; sshfs ignores it, interactive sftp clients show it. */
function longName(name: string, attrs: SftpAttrs): string {
  const mode = attrs.mode ?? 0;
  const kind = (mode & 0o170000) === 0o040000 ? "d" : (mode & 0o170000) === 0o120000 ? "l" : "-";
  const bits = [0o400, 0o200, 0o100, 0o40, 0o20, 0o10, 0o4, 0o2, 0o1].map((bit, i) => (mode & bit ? "rwx"[i % 3] : "-")).join("");
  const date = new Date((attrs.mtime ?? 0) * 1000).toISOString().slice(0, 16).replace("T", " ");
  return `${kind}${bits} 1 ${attrs.uid ?? 0} ${attrs.gid ?? 0} ${attrs.size ?? 0} ${date} ${name}`;
}

function errnoStatus(error: unknown): number {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return SftpStatus.NoSuchFile;
  // ELOOP: a symlink met where O_NOFOLLOW refused it.
  if (code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ELOOP") return SftpStatus.PermissionDenied;
  return SftpStatus.Failure;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}
