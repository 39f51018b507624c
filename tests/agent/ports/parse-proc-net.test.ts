import { expect, test } from "bun:test";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import { parseProcNet, type ParseProcNetOptions } from "../../../agent/ports/parse-proc-net.ts";

type Row = ParseProcNetOptions & { name: string; text: string; want: GuestListener[] };

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const udpHeader = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
const tail = "00000000:00000000 00:00000000 00000000     0        0 30348 1 000000000c6d88ed 100 0 0 10 0";
const line = (local: string, remote: string, state: string) => `   0: ${local} ${remote} ${state} ${tail}`;
const any4 = "00000000:0000";
const any6 = "00000000000000000000000000000000:0000";

test.each<Row>([
  {
    name: "a TCP listener on 127.0.0.1 (little endian)",
    proto: "tcp",
    byteOrder: "LE",
    text: [tcpHeader, line("0100007F:A029", any4, "0A")].join("\n"),
    want: [{ proto: "tcp", ip: "127.0.0.1", port: 41001 }],
  },
  {
    name: "a TCP listener on 127.0.0.1 (big endian)",
    proto: "tcp",
    byteOrder: "BE",
    text: [tcpHeader, line("7F000001:0016", any4, "0A")].join("\n"),
    want: [{ proto: "tcp", ip: "127.0.0.1", port: 22 }],
  },
  {
    name: "only LISTEN sockets among established and time-wait ones",
    proto: "tcp",
    byteOrder: "LE",
    text: [
      tcpHeader,
      line("00000000:0016", any4, "0A"),
      line("0F02000A:0016", "0202000A:C350", "01"),
      line("0100007F:A029", "0100007F:9C40", "06"),
    ].join("\n"),
    want: [{ proto: "tcp", ip: "0.0.0.0", port: 22 }],
  },
  {
    name: "the dual-stack :: listener, ::1 and an IPv4-mapped address from tcp6",
    proto: "tcp",
    byteOrder: "LE",
    text: [
      tcpHeader,
      line("00000000000000000000000000000000:A02A", any6, "0A"),
      line("0000000000000000FFFF00000100007F:A02B", any6, "0A"),
      line("00000000000000000000000001000000:A02C", any6, "0A"),
    ].join("\n"),
    want: [
      { proto: "tcp", ip: "::", port: 41002 },
      { proto: "tcp", ip: "127.0.0.1", port: 41003 },
      { proto: "tcp", ip: "::1", port: 41004 },
    ],
  },
  {
    name: "a link-local IPv6 listener (little endian words)",
    proto: "tcp",
    byteOrder: "LE",
    text: [tcpHeader, line("000080FE00000000FF555450563412FE:0050", any6, "0A")].join("\n"),
    want: [{ proto: "tcp", ip: "fe80::5054:55ff:fe12:3456", port: 80 }],
  },
  {
    name: "unconnected UDP sockets but not connected ones",
    proto: "udp",
    byteOrder: "LE",
    text: [
      udpHeader,
      line("00000000:A02D", any4, "07"),
      line("0100007F:A02F", "0100007F:A02D", "01"),
      line("3500007F:0035", any4, "07"),
    ].join("\n"),
    want: [
      { proto: "udp", ip: "0.0.0.0", port: 41005 },
      { proto: "udp", ip: "127.0.0.53", port: 53 },
    ],
  },
  {
    name: "an unconnected UDP socket from udp6",
    proto: "udp",
    byteOrder: "LE",
    text: [udpHeader, line("00000000000000000000000001000000:A02E", any6, "07")].join("\n"),
    want: [{ proto: "udp", ip: "::1", port: 41006 }],
  },
  {
    name: "nothing from the state 07 of a TCP socket",
    proto: "tcp",
    byteOrder: "LE",
    text: [tcpHeader, line("00000000:0016", any4, "07")].join("\n"),
    want: [],
  },
  {
    name: "nothing from malformed and truncated lines",
    proto: "tcp",
    byteOrder: "LE",
    text: [tcpHeader, line("0100007F", any4, "0A"), line("XYZ0007F:0016", any4, "0A"), line("0100007F:0000", any4, "0A"), "   3: 0100007F:0016", ""].join("\n"),
    want: [],
  },
  { name: "nothing from an empty file", proto: "udp", byteOrder: "LE", text: "", want: [] },
])("parseProcNet() reads $name", ({ text, proto, byteOrder, want }) => {
  expect(parseProcNet(text, { proto, byteOrder })).toEqual(want);
});
