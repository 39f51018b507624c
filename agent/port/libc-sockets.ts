// Listening sockets of any address family, made and accepted through libc with bun:ffi: Bun's own net module knows
// only TCP and unix sockets, and the guest agent needs AF_VSOCK. Everything is non-blocking, so no call ever parks
// the agent's only JS thread.
import { FFIType, ptr, read } from "bun:ffi";
import { DenError } from "../../lib/errors.ts";
import { openLibc } from "../open-libc.ts";

const SockStream = 1;
const SockNonblock = 0o4000;
const SockCloexec = 0o2000000;
const Eagain = 11;
const Eintr = 4;
/** The peer went away before it was accepted: look for the next one. */
const Econnaborted = 103;
const ListenBacklog = 16;
/** sizeof(struct sockaddr_storage): room for any family's peer address. */
const PeerAddressSize = 128;

function openSocketLibc() {
  return openLibc(
    {
      socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      accept4: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    },
    "open a socket",
  );
}

type Libc = ReturnType<typeof openSocketLibc>;
let libcCache: Libc | undefined;

function libc(): Libc {
  libcCache ??= openSocketLibc();
  return libcCache;
}

function errno(): number {
  const location = libc().symbols.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

/** A non-blocking, close-on-exec stream socket of `family` bound to `address` (a packed sockaddr) and listening. */
export function listenStreamSocket(family: number, address: Uint8Array): number {
  const { socket, bind, listen, close } = libc().symbols;
  const fd = socket(family, SockStream | SockNonblock | SockCloexec, 0);
  if (fd < 0) throw new DenError("IO", `Cannot open a socket of family ${family}: socket() failed with errno ${errno()}`);
  const failed = (call: string) => {
    const code = errno();
    close(fd);
    return new DenError("IO", `Cannot listen on a socket of family ${family}: ${call}() failed with errno ${code}`, {
      hint: code === 98 ? "another program already listens on this address" : undefined,
    });
  };
  if (bind(fd, ptr(address), address.byteLength) !== 0) throw failed("bind");
  if (listen(fd, ListenBacklog) !== 0) throw failed("listen");
  return fd;
}

export interface AcceptedSocket {
  /** Non-blocking, close-on-exec. */
  fd: number;
  /** The peer's packed sockaddr as accept4() returned it. */
  peer: Uint8Array;
}

/** One pending connection of the listening `fd`, or undefined when none is waiting. */
export function acceptPending(fd: number): AcceptedSocket | undefined {
  const { accept4 } = libc().symbols;
  for (;;) {
    const peer = new Uint8Array(PeerAddressSize);
    const length = new Uint32Array([PeerAddressSize]);
    const accepted = accept4(fd, ptr(peer), ptr(length), SockNonblock | SockCloexec);
    if (accepted >= 0) return { fd: accepted, peer: peer.subarray(0, Math.min(length[0] ?? 0, PeerAddressSize)) };
    const code = errno();
    if (code === Eintr || code === Econnaborted) continue;
    if (code === Eagain) return undefined;
    throw new DenError("IO", `Cannot accept a connection: accept4() failed with errno ${code}`);
  }
}

export function closeFd(fd: number): void {
  libc().symbols.close(fd);
}
