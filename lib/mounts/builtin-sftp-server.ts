// den's own SFTP server (`sshfs.sftpDriver: builtin`, and the fallback when no OpenSSH sftp-server is installed):
// serves one host folder over any byte stream, in practice the stdin/stdout of `sshfs -o slave` in the guest.
// It implements what sshfs uses of SFTP v3 plus OpenSSH's posix-rename, statvfs, hardlink and fsync extensions.
// Like `sftp-server -d`, the folder is the starting directory, not a jail: sshfs asks for absolute paths.
// Requests are answered one at a time, in order, so a write is never overtaken by a later read of the same bytes.
import { constants, type Dirent } from "node:fs";
import { type FileHandle, link, lstat, mkdir, open, readdir, readlink, realpath, rename, rmdir, stat, statfs, symlink, unlink, utimes, chmod, chown, truncate } from "node:fs/promises";
import { isAbsolute, posix } from "node:path";
import type { Duplex } from "node:stream";
import { SftpOpenFlags, SftpPacketSplitter, SftpPacketType as T, SftpReader, SftpStatus, SftpWriter, MaxPacketLength, type SftpAttrs } from "./sftp-packet.ts";

export interface BuiltinSftpOptions {
  /** The host folder; relative paths in requests resolve against it. */
  root: string;
  /** Refuse every request that would change the host file system (the mount is not `writable`). */
  readOnly: boolean;
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
const StRdonly = 0x1;

type Handle = { kind: "file"; file: FileHandle; path: string } | { kind: "dir"; path: string; pending: string[] | undefined };

/** A request refused with an SFTP status rather than an exception from the file system. */
class StatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Serves SFTP on `stream` until it ends. */
export function serveBuiltinSftp(stream: Duplex, options: BuiltinSftpOptions): BuiltinSftpSession {
  const handles = new Map<string, Handle>();
  let nextHandle = 1;
  const splitter = new SftpPacketSplitter();
  let queue = Promise.resolve();
  const done = Promise.withResolvers<void>();

  const send = (packet: Buffer) => {
    if (!stream.destroyed && stream.writable) stream.write(packet);
  };
  const fail = (message: string) => {
    options.onProtocolError?.(message);
    stream.destroy();
  };
  const resolvePath = (path: string) => (isAbsolute(path) ? posix.normalize(path) : posix.resolve(options.root, path));
  const addHandle = (handle: Handle) => {
    const id = String(nextHandle++);
    handles.set(id, handle);
    return id;
  };
  const getHandle = <K extends Handle["kind"]>(id: string, kind: K): Extract<Handle, { kind: K }> => {
    const handle = handles.get(id);
    if (!handle || handle.kind !== kind) throw new StatusError(SftpStatus.Failure, "invalid handle");
    return handle as Extract<Handle, { kind: K }>;
  };
  const refuseWhenReadOnly = () => {
    if (options.readOnly) throw new StatusError(SftpStatus.PermissionDenied, "read-only mount");
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
      switch (type) {
        case T.Open: {
          const path = resolvePath(reader.string());
          const pflags = reader.uint32();
          const attrs = reader.attrs();
          const writes = SftpOpenFlags.Write | SftpOpenFlags.Append | SftpOpenFlags.Create | SftpOpenFlags.Truncate;
          if (pflags & writes) refuseWhenReadOnly();
          const file = await open(path, openFlags(pflags), attrs.mode === undefined ? 0o666 : attrs.mode & 0o7777);
          return handleReply(addHandle({ kind: "file", file, path }));
        }
        case T.Close: {
          const handleId = reader.string();
          const entry = handles.get(handleId);
          if (!entry) return status(SftpStatus.Failure, "invalid handle");
          handles.delete(handleId);
          if (entry.kind === "file") await entry.file.close();
          return ok();
        }
        case T.Read: {
          const entry = getHandle(reader.string(), "file");
          const offset = reader.uint64();
          const length = Math.min(reader.uint32(), MaxReadLength);
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await entry.file.read(buffer, 0, length, offset);
          if (bytesRead === 0 && length > 0) return status(SftpStatus.Eof, "end of file");
          return new SftpWriter(T.Data).uint32(id).bytes(buffer.subarray(0, bytesRead)).finish();
        }
        case T.Write: {
          const entry = getHandle(reader.string(), "file");
          const offset = reader.uint64();
          const data = reader.bytes();
          refuseWhenReadOnly();
          let written = 0;
          while (written < data.length) {
            const { bytesWritten } = await entry.file.write(data, written, data.length - written, offset + written);
            written += bytesWritten;
          }
          return ok();
        }
        case T.Lstat:
          return attrsReply(toAttrs(await lstat(resolvePath(reader.string()))));
        case T.Stat:
          return attrsReply(toAttrs(await stat(resolvePath(reader.string()))));
        case T.Fstat:
          return attrsReply(toAttrs(await getHandle(reader.string(), "file").file.stat()));
        case T.Setstat: {
          const path = resolvePath(reader.string());
          const attrs = reader.attrs();
          refuseWhenReadOnly();
          await applyAttrs(attrs, {
            truncate: (size) => truncate(path, size),
            chown: (uid, gid) => chown(path, uid, gid),
            chmod: (mode) => chmod(path, mode),
            utimes: (atime, mtime) => utimes(path, atime, mtime),
          });
          return ok();
        }
        case T.Fsetstat: {
          const entry = getHandle(reader.string(), "file");
          const attrs = reader.attrs();
          refuseWhenReadOnly();
          await applyAttrs(attrs, {
            truncate: (size) => entry.file.truncate(size),
            chown: (uid, gid) => entry.file.chown(uid, gid),
            chmod: (mode) => entry.file.chmod(mode),
            utimes: (atime, mtime) => entry.file.utimes(atime, mtime),
          });
          return ok();
        }
        case T.Opendir: {
          const path = resolvePath(reader.string());
          if (!(await stat(path)).isDirectory()) return status(SftpStatus.Failure, "not a directory");
          return handleReply(addHandle({ kind: "dir", path, pending: undefined }));
        }
        case T.Readdir: {
          const entry = getHandle(reader.string(), "dir");
          entry.pending ??= [".", "..", ...(await readdir(entry.path, { withFileTypes: true })).map((dirent: Dirent) => dirent.name)];
          if (entry.pending.length === 0) return status(SftpStatus.Eof, "end of directory");
          const batch = entry.pending.splice(0, ReaddirBatch);
          const entries: { name: string; attrs: SftpAttrs }[] = [];
          for (const name of batch) {
            // A file deleted between readdir and lstat is simply left out.
            const info = await lstat(posix.join(entry.path, name)).catch(() => undefined);
            if (info) entries.push({ name, attrs: toAttrs(info) });
          }
          return nameReply(entries);
        }
        case T.Remove: {
          const path = resolvePath(reader.string());
          refuseWhenReadOnly();
          await unlink(path);
          return ok();
        }
        case T.Mkdir: {
          const path = resolvePath(reader.string());
          const attrs = reader.attrs();
          refuseWhenReadOnly();
          await mkdir(path, attrs.mode === undefined ? 0o777 : attrs.mode & 0o7777);
          return ok();
        }
        case T.Rmdir: {
          const path = resolvePath(reader.string());
          refuseWhenReadOnly();
          await rmdir(path);
          return ok();
        }
        case T.Realpath: {
          const path = resolvePath(reader.string() || ".");
          // A path that does not exist yet still gets its normalised form, as OpenSSH's sftp-server answers.
          const resolved = await realpath(path).catch(() => path);
          return nameReply([{ name: resolved, attrs: {} }]);
        }
        case T.Rename: {
          const from = resolvePath(reader.string());
          const to = resolvePath(reader.string());
          refuseWhenReadOnly();
          // SFTP v3 rename does not replace an existing target; posix-rename does.
          if (await lstat(to).then(() => true, () => false)) return status(SftpStatus.Failure, "target exists");
          await rename(from, to);
          return ok();
        }
        case T.Readlink: {
          const target = await readlink(resolvePath(reader.string()));
          return nameReply([{ name: target, attrs: {} }]);
        }
        case T.Symlink: {
          // OpenSSH (and so sshfs) sends the target first and the link's path second, the reverse of the draft.
          const target = reader.string();
          const path = resolvePath(reader.string());
          refuseWhenReadOnly();
          await symlink(target, path);
          return ok();
        }
        case T.Extended:
          return await extended(reader.string(), reader);
        default:
          return status(SftpStatus.OpUnsupported, `unsupported request type ${type}`);
      }
    } catch (error) {
      if (error instanceof StatusError) return status(error.status, error.message);
      if (error instanceof RangeError) return status(SftpStatus.BadMessage, "malformed request");
      return status(errnoStatus(error), errorText(error));
    }

    async function extended(name: string, args: SftpReader): Promise<Buffer> {
      switch (name) {
        case "posix-rename@openssh.com": {
          const from = resolvePath(args.string());
          const to = resolvePath(args.string());
          refuseWhenReadOnly();
          await rename(from, to);
          return ok();
        }
        case "hardlink@openssh.com": {
          const from = resolvePath(args.string());
          const to = resolvePath(args.string());
          refuseWhenReadOnly();
          await link(from, to);
          return ok();
        }
        case "fsync@openssh.com":
          await getHandle(args.string(), "file").file.sync();
          return ok();
        case "statvfs@openssh.com":
        case "fstatvfs@openssh.com": {
          const path = name === "statvfs@openssh.com" ? resolvePath(args.string()) : getHandle(args.string(), "file").path;
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

  stream.on("data", (chunk: Buffer) => {
    let packets: Buffer[];
    try {
      packets = splitter.push(chunk);
    } catch (error) {
      fail(errorText(error));
      return;
    }
    for (const packet of packets) {
      queue = queue.then(async () => {
        const reply = await handle(packet).catch((error: unknown) => {
          fail(`cannot answer an SFTP request: ${errorText(error)}`);
          return undefined;
        });
        if (reply) send(reply);
      });
    }
  });
  const finish = () => {
    void queue.then(async () => {
      for (const entry of handles.values()) if (entry.kind === "file") await entry.file.close().catch(() => {});
      handles.clear();
      done.resolve();
    });
  };
  stream.once("close", finish);
  stream.once("end", () => {
    void queue.then(() => stream.end());
  });
  stream.on("error", () => {});
  return { done: done.promise };
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

async function applyAttrs(
  attrs: SftpAttrs,
  apply: { truncate(size: number): Promise<void>; chown(uid: number, gid: number): Promise<void>; chmod(mode: number): Promise<void>; utimes(atime: number, mtime: number): Promise<void> },
): Promise<void> {
  if (attrs.size !== undefined) await apply.truncate(attrs.size);
  if (attrs.uid !== undefined && attrs.gid !== undefined) await apply.chown(attrs.uid, attrs.gid);
  if (attrs.mode !== undefined) await apply.chmod(attrs.mode & 0o7777);
  if (attrs.atime !== undefined && attrs.mtime !== undefined) await apply.utimes(attrs.atime, attrs.mtime);
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
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return SftpStatus.PermissionDenied;
  return SftpStatus.Failure;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}
