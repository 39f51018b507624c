// Text forms of the addresses the kernel reports as raw bytes (/proc/net hex words, sock_diag id fields). IPv6 uses
// the RFC 5952 canonical form (lower case, longest zero run of two or more groups compressed, first run on a tie) so
// the host side can compare addresses as strings; IPv4-mapped IPv6 addresses become plain IPv4, because a dual-stack
// socket bound to ::ffff:127.0.0.1 accepts exactly what an IPv4 socket on 127.0.0.1 would.

/** Formats a 4-byte (IPv4) or 16-byte (IPv6) network-order address. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) throw new RangeError(`Cannot format address: expected 4 or 16 bytes, got ${bytes.length}`);
  if (isIpv4Mapped(bytes)) return Array.from(bytes.subarray(12)).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}
