// One canonical list per scan, so "did anything change" is a plain comparison and the host always receives the same
// order. Duplicates are normal: SO_REUSEPORT groups and forked servers hold several sockets on one address and port.
import type { GuestListener } from "../protocol/messages.ts";

/** Sorts by proto, port, then address, and drops duplicates (pure; the input is not modified). */
export function normalizeListeners(listeners: readonly GuestListener[]): GuestListener[] {
  const byKey = new Map<string, GuestListener>();
  for (const listener of listeners) {
    const key = `${listener.proto} ${listener.ip} ${listener.port}`;
    if (!byKey.has(key)) byKey.set(key, { proto: listener.proto, ip: listener.ip, port: listener.port });
  }
  return [...byKey.values()].sort(
    (a, b) => a.proto.localeCompare(b.proto) || a.port - b.port || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0),
  );
}

/** True when two normalized lists hold the same listeners. */
export function sameListeners(a: readonly GuestListener[], b: readonly GuestListener[]): boolean {
  return a.length === b.length && a.every((x, i) => x.proto === b[i]?.proto && x.ip === b[i]?.ip && x.port === b[i]?.port);
}
