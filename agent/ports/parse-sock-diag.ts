// The netlink sock_diag (inet_diag) dump used to list sockets without /proc/net text: request bytes out, listeners
// in (pure). Layouts are those of <linux/netlink.h> and <linux/inet_diag.h>: a 16-byte nlmsghdr in host byte order,
// then inet_diag_req_v2 (request) or inet_diag_msg (reply), whose addresses and ports are in network byte order.
import type { GuestListener } from "../protocol/messages.ts";
import { formatIp } from "./format-ip.ts";

export const afInet = 2;
export const afInet6 = 10;
const ipprotoTcp = 6;
const ipprotoUdp = 17;
const sockDiagByFamily = 20;
const nlmFRequest = 0x1;
const nlmFDump = 0x300;
const nlmsgError = 2;
const nlmsgDone = 3;
const nlmsgHeaderLength = 16;
const inetDiagMsgLength = 72;
const tcpListen = 10;
// Unconnected UDP sockets carry TCP_CLOSE; connect() moves them to TCP_ESTABLISHED (see parse-proc-net.ts).
const udpUnconnected = 7;

export interface SockDiagQuery {
  proto: GuestListener["proto"];
  family: typeof afInet | typeof afInet6;
}

export interface SockDiagOptions {
  /** Byte order of the netlink headers (`os.endianness()`). */
  byteOrder: "LE" | "BE";
}

/** The dump request for one protocol and family, asking the kernel only for listeners (it then walks only the
 * listening hash for TCP). */
export function buildSockDiagRequest(query: SockDiagQuery, options: SockDiagOptions & { seq: number }): Uint8Array {
  const bytes = new Uint8Array(nlmsgHeaderLength + 56);
  const view = new DataView(bytes.buffer);
  const le = options.byteOrder === "LE";
  view.setUint32(0, bytes.length, le);
  view.setUint16(4, sockDiagByFamily, le);
  view.setUint16(6, nlmFRequest | nlmFDump, le);
  view.setUint32(8, options.seq, le);
  view.setUint32(12, 0, le);
  bytes[16] = query.family;
  bytes[17] = query.proto === "tcp" ? ipprotoTcp : ipprotoUdp;
  bytes[18] = 0; // no extensions: the base message has all we need
  view.setUint32(20, 1 << (query.proto === "tcp" ? tcpListen : udpUnconnected), le);
  return bytes;
}

export interface SockDiagReply {
  listeners: GuestListener[];
  /** NLMSG_DONE was seen: the dump is complete. */
  done: boolean;
  /** The positive errno of an NLMSG_ERROR reply (e.g. 2 when the kernel has no udp_diag). */
  errno?: number;
}

/** Parses one recv() worth of netlink messages of a dump started by buildSockDiagRequest(). Truncated messages end
 * the parse; the caller treats a reply without `done` as "read more". */
export function parseSockDiagReply(bytes: Uint8Array, query: SockDiagQuery, options: SockDiagOptions): SockDiagReply {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = options.byteOrder === "LE";
  const wantState = query.proto === "tcp" ? tcpListen : udpUnconnected;
  const reply: SockDiagReply = { listeners: [], done: false };
  let offset = 0;
  while (offset + nlmsgHeaderLength <= bytes.length) {
    const length = view.getUint32(offset, le);
    const type = view.getUint16(offset + 4, le);
    if (length < nlmsgHeaderLength || offset + length > bytes.length) break;
    const body = offset + nlmsgHeaderLength;
    if (type === nlmsgDone) {
      reply.done = true;
      return reply;
    }
    if (type === nlmsgError) {
      const error = length >= nlmsgHeaderLength + 4 ? view.getInt32(body, le) : 0;
      reply.done = true;
      // An error message with code 0 is an acknowledgement.
      if (error !== 0) reply.errno = -error;
      return reply;
    }
    if (type === sockDiagByFamily && length >= nlmsgHeaderLength + inetDiagMsgLength) {
      const family = bytes[body];
      const state = bytes[body + 1];
      const port = view.getUint16(body + 4, false);
      if (state === wantState && port !== 0 && (family === afInet || family === afInet6)) {
        const address = bytes.subarray(body + 8, body + 8 + (family === afInet ? 4 : 16));
        reply.listeners.push({ proto: query.proto, ip: formatIp(address), port });
      }
    }
    // Messages are aligned to 4 bytes (NLMSG_ALIGN).
    offset += (length + 3) & ~3;
  }
  return reply;
}
