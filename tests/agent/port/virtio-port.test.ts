// virtioFdPort() over one end of a SOCK_SEQPACKET socketpair, which like the virtio-serial device hands out a bounded
// record per read() and reports a full buffer with EAGAIN: the greeting, both directions, backpressure and the
// host's going away.
import { afterEach, expect, test } from "bun:test";
import { dlopen, FFIType, ptr } from "bun:ffi";
import { closeFd } from "../../../agent/port/libc-sockets.ts";
import { virtioFdPort } from "../../../agent/port/virtio-port.ts";

const AfUnix = 1;
const SockSeqpacket = 5;
const SockNonblock = 0o4000;

const libc = dlopen("libc.so.6", {
  socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The agent's port and the host's end of the pair. */
function pair(): { port: ReturnType<typeof virtioFdPort>; host: number; closeHost(): void } {
  const fds = new Int32Array(2);
  if (libc.symbols.socketpair(AfUnix, SockSeqpacket | SockNonblock, 0, ptr(fds)) !== 0) throw new Error("socketpair() failed");
  const [host, agent] = [fds[0] as number, fds[1] as number];
  const port = virtioFdPort(agent);
  let hostOpen = true;
  const closeHost = () => {
    if (hostOpen) closeFd(host);
    hostOpen = false;
  };
  cleanups.push(() => {
    port.close();
    closeHost();
  });
  return { port, host, closeHost };
}

function hostWrite(fd: number, bytes: Uint8Array): void {
  if (Number(libc.symbols.write(fd, ptr(bytes), bytes.byteLength)) !== bytes.byteLength) throw new Error("write() failed");
}

test("virtioFdPort() greets the host first and carries bytes both ways", async () => {
  const { port, host } = pair();
  const connection = await port.accept(new TextEncoder().encode("hello"), new AbortController().signal);
  const reader = Bun.file(host).stream().getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toBe("hello");
  connection.write(new TextEncoder().encode("from the agent"));
  expect(new TextDecoder().decode((await reader.read()).value)).toBe("from the agent");
  hostWrite(host, new TextEncoder().encode("from the host"));
  const next = await connection.chunks[Symbol.asyncIterator]().next();
  expect(new TextDecoder().decode(next.value)).toBe("from the host");
  reader.releaseLock();
});

test("virtioFdPort() is congested while the host does not read, and reports when it drained", async () => {
  const { port, host } = pair();
  const connection = await port.accept(new Uint8Array([1]), new AbortController().signal);
  let drains = 0;
  connection.onDrained(() => drains++);
  const block = new Uint8Array(4096);
  for (let i = 0; i < 1024 && !connection.congested(); i++) connection.write(block);
  expect(connection.congested()).toBe(true);
  const reader = Bun.file(host).stream().getReader();
  for (let i = 0; i < 2000 && connection.congested(); i++) await reader.read();
  expect(connection.congested()).toBe(false);
  expect(drains).toBe(1);
  reader.releaseLock();
});

test("virtioFdPort() ends the chunks when the host goes away", async () => {
  const { port, host, closeHost } = pair();
  const connection = await port.accept(new Uint8Array([1]), new AbortController().signal);
  // The host takes the greeting first: closing a socket with unread bytes would reset the agent's end instead.
  expect(Number(libc.symbols.read(host, ptr(new Uint8Array(16)), 16))).toBe(1);
  hostWrite(host, new Uint8Array([9, 9]));
  closeHost();
  const seen: number[] = [];
  for await (const chunk of connection.chunks) seen.push(...chunk);
  expect(seen).toEqual([9, 9]);
  connection.write(new Uint8Array([1]));
  expect(connection.congested()).toBe(false);
});
