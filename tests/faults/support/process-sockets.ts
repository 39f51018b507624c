// The sockets this test process holds, read from the kernel (/proc), so a fault case can count what the host side left
// open: a socket the code forgot is still a descriptor here, whatever the code's own bookkeeping says.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The inodes of every socket descriptor this process has open. */
export function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // The descriptor closed between the listing and the read.
    }
  }
  return inodes;
}

/**
 * The TCP ports in `[from, to]` this process listens on. Counted from the kernel's tables and this process's own
 * descriptors, not by connecting: a port of the range another process of a shared machine listens on does not count.
 */
export function ownListeningPorts(range: { from: number; to: number }): number[] {
  const own = ownSocketInodes();
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // Field 3 is the state (0A: LISTEN), field 9 the socket's inode.
      if (fields.length < 10 || fields[3] !== "0A" || !own.has(fields[9] as string)) continue;
      const port = Number.parseInt((fields[1] as string).split(":")[1] as string, 16);
      if (port >= range.from && port <= range.to) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
