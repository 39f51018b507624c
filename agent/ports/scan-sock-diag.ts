// Lists the guest's listeners over netlink sock_diag, called through libc with bun:ffi (Bun has no netlink
// sockets). Cheaper than /proc/net: the kernel sends only listening sockets, as binary, instead of formatting a text
// line for every socket in the namespace.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { endianness } from "node:os";
import type { GuestListener } from "../protocol/messages.ts";
import { DenError } from "../../lib/errors.ts";
import { normalizeListeners } from "./normalize-listeners.ts";
import { afInet, afInet6, buildSockDiagRequest, parseSockDiagReply, type SockDiagQuery } from "./parse-sock-diag.ts";

const afNetlink = 16;
const sockDgram = 2;
const sockCloexec = 0o2000000;
const netlinkSockDiag = 4;
const eintr = 4;

const queries: SockDiagQuery[] = [
  { proto: "tcp", family: afInet },
  { proto: "tcp", family: afInet6 },
  { proto: "udp", family: afInet },
  { proto: "udp", family: afInet6 },
];

export interface SockDiagScanner {
  /** The normalized listener list; throws a DenError when the kernel refuses a dump. */
  scan(): GuestListener[];
  close(): void;
}

type Libc = ReturnType<typeof openLibc>;

function openLibc() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
    recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
}

/** Opens one netlink socket, reused for every scan. Throws a DenError when libc or the socket is unavailable (a musl
 * guest, a kernel without sock_diag); the caller then reads /proc/net. */
export function openSockDiagScanner(): SockDiagScanner {
  let libc: Libc;
  try {
    libc = openLibc();
  } catch (error) {
    throw new DenError("IO", "Cannot list sockets over netlink: libc.so.6 cannot be loaded", { cause: error });
  }
  const fd = libc.symbols.socket(afNetlink, sockDgram | sockCloexec, netlinkSockDiag);
  if (fd < 0) {
    const errno = lastErrno(libc);
    libc.close();
    throw new DenError("IO", `Cannot list sockets over netlink: socket() failed with errno ${errno}`);
  }
  const byteOrder = endianness();
  // Large enough for a full kernel batch (one page of messages, up to 32 KiB with big pages).
  const buffer = new Uint8Array(64 * 1024);
  const bufferPtr = ptr(buffer);
  let seq = 0;
  let closed = false;

  const dump = (query: SockDiagQuery, into: GuestListener[]): void => {
    const request = buildSockDiagRequest(query, { byteOrder, seq: ++seq });
    if (Number(libc.symbols.send(fd, ptr(request), request.length, 0)) !== request.length) {
      throw new DenError("IO", `Cannot list ${query.proto} sockets over netlink: send() failed with errno ${lastErrno(libc)}`);
    }
    for (;;) {
      const received = Number(libc.symbols.recv(fd, bufferPtr, buffer.length, 0));
      if (received < 0) {
        const errno = lastErrno(libc);
        if (errno === eintr) continue;
        throw new DenError("IO", `Cannot list ${query.proto} sockets over netlink: recv() failed with errno ${errno}`);
      }
      const reply = parseSockDiagReply(buffer.subarray(0, received), query, { byteOrder });
      into.push(...reply.listeners);
      if (reply.errno !== undefined) {
        throw new DenError("IO", `Cannot list ${query.proto} sockets over netlink: the kernel answered errno ${reply.errno}`, {
          hint: "the kernel lacks inet_diag/tcp_diag/udp_diag; the agent reads /proc/net instead",
        });
      }
      if (reply.done) return;
    }
  };

  return {
    scan(): GuestListener[] {
      if (closed) throw new DenError("INTERNAL", "Cannot list sockets over netlink: the scanner is closed");
      const listeners: GuestListener[] = [];
      for (const query of queries) dump(query, listeners);
      return normalizeListeners(listeners);
    },
    close(): void {
      if (closed) return;
      closed = true;
      libc.symbols.close(fd);
      libc.close();
    },
  };
}

function lastErrno(libc: Libc): number {
  const location = libc.symbols.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}
