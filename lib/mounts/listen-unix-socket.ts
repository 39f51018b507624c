// A listening unix stream socket as a bare fd, for a child that takes its socket already listening (virtiofsd's
// `--fd`, see virtiofsd-command.ts). Node's and Bun's servers accept connections themselves, so the socket is made
// with libc directly. It is close-on-exec: only the child it is handed to (as one of its stdio fds) inherits it.
import { dlopen, FFIType, read } from "bun:ffi";
import { constants } from "node:os";
import { DenError } from "../errors.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
/** sun_path's size in struct sockaddr_un, the terminating NUL included. */
const SunPathBytes = 108;
const Backlog = 16;

const libcSymbols = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
} as const;

let libc: ReturnType<typeof dlopen<typeof libcSymbols>>["symbols"] | undefined;

/** Binds and listens on `path` (which must not exist); returns the fd, which the caller closes. */
export function listenUnixSocket(path: string): number {
  const encoded = Buffer.from(path);
  if (encoded.length >= SunPathBytes) {
    throw new DenError("IO", `Cannot listen on "${path}": a unix socket path has at most ${SunPathBytes - 1} bytes`, {
      hint: "use a shorter DEN_HOME or instance name",
    });
  }
  libc ??= dlopen("libc.so.6", libcSymbols).symbols;
  const address = new Uint8Array(2 + SunPathBytes);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(encoded, 2);
  const fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw socketError(libc, "create a unix socket for", path);
  if (libc.bind(fd, address, 2 + encoded.length + 1) !== 0 || libc.listen(fd, Backlog) !== 0) {
    const error = socketError(libc, "listen on", path);
    libc.close(fd);
    throw error;
  }
  return fd;
}

function socketError(symbols: NonNullable<typeof libc>, action: string, path: string): DenError {
  const errnoPointer = symbols.__errno_location();
  const errno = errnoPointer === null ? undefined : read.i32(errnoPointer, 0);
  const code = Object.entries(constants.errno).find(([, value]) => value === errno)?.[0] ?? `errno ${errno}`;
  return new DenError("IO", `Cannot ${action} "${path}"${errno === undefined ? "" : `: ${code}`}`, { details: { errno } });
}
