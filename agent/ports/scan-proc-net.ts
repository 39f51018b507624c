// Reads the guest's listeners from /proc/net: the fallback scanner, which needs nothing but procfs.
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import type { GuestListener } from "../protocol/messages.ts";
import { normalizeListeners } from "./normalize-listeners.ts";
import { parseProcNet } from "./parse-proc-net.ts";

const files = [
  { name: "tcp", proto: "tcp" },
  { name: "tcp6", proto: "tcp" },
  { name: "udp", proto: "udp" },
  { name: "udp6", proto: "udp" },
] as const;

/** The normalized listener list of the current network namespace. A missing file (a kernel without IPv6) counts as
 * no sockets; any other read error is thrown. */
export function scanProcNet(options: { procRoot?: string } = {}): GuestListener[] {
  const procNet = join(options.procRoot ?? "/proc", "net");
  const byteOrder = endianness();
  const listeners: GuestListener[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(join(procNet, file.name), "latin1");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    listeners.push(...parseProcNet(text, { proto: file.proto, byteOrder }));
  }
  return normalizeListeners(listeners);
}
