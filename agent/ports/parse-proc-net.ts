// Parses /proc/net/{tcp,tcp6,udp,udp6} into listeners (pure). The files are the kernel's text dump of the socket
// hash tables: one header line, then one socket per line, e.g.
//   "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20151 1 ..."
// Addresses are hex dumps of 32-bit words in the kernel's byte order (little endian on x86-64 and arm64), ports are
// big-endian hex numbers, and `st` is the TCP state number, which UDP reuses: 07 (TCP_CLOSE) for a socket that is
// bound but not connected, 01 (TCP_ESTABLISHED) after connect().
import type { GuestListener } from "../protocol/messages.ts";
import { formatIp } from "./format-ip.ts";

export interface ParseProcNetOptions {
  proto: GuestListener["proto"];
  /** Byte order of the kernel that wrote the file (`os.endianness()` in the guest). */
  byteOrder: "LE" | "BE";
}

const tcpListen = 0x0a;
// A connected UDP socket receives only from its one peer, so it cannot serve a forward; an unconnected one can.
const udpUnconnected = 0x07;

/** The listening TCP sockets or unconnected bound UDP sockets of one /proc/net file, in file order; lines that do not
 * parse (the header, a truncated last line) are skipped. */
export function parseProcNet(text: string, options: ParseProcNetOptions): GuestListener[] {
  const wantState = options.proto === "tcp" ? tcpListen : udpUnconnected;
  const listeners: GuestListener[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    if (fields.length < 4 || !fields[0]?.endsWith(":") || local === undefined || state === undefined) continue;
    if (Number.parseInt(state, 16) !== wantState) continue;
    const colon = local.indexOf(":");
    if (colon < 0) continue;
    const bytes = decodeAddress(local.slice(0, colon), options.byteOrder);
    const port = Number.parseInt(local.slice(colon + 1), 16);
    if (bytes === undefined || !Number.isInteger(port) || port <= 0 || port > 0xffff) continue;
    listeners.push({ proto: options.proto, ip: formatIp(bytes), port });
  }
  return listeners;
}

function decodeAddress(hex: string, byteOrder: "LE" | "BE"): Uint8Array | undefined {
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let i = 0; i < 4; i++) {
      const value = Number.parseInt(hex.slice(word * 8 + i * 2, word * 8 + i * 2 + 2), 16);
      bytes[word * 4 + (byteOrder === "LE" ? 3 - i : i)] = value;
    }
  }
  return bytes;
}
