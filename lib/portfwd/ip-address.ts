// IP address text compared the way Go's net.IP compares (Lima's rule matching relies on it): an IPv4 address equals
// its IPv4-mapped IPv6 form, and 0.0.0.0 and :: are both "unspecified".

/** The 16-byte form of an IPv4 or IPv6 address (IPv4 as ::ffff:a.b.c.d), or undefined when `text` is not one. */
export function ipBytes(text: string): Uint8Array | undefined {
  const v4 = ipv4Bytes(text);
  if (v4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  return ipv6Bytes(text);
}

/** 0.0.0.0, :: (and ::ffff:0.0.0.0). */
export function isUnspecifiedIp(text: string): boolean {
  const bytes = ipBytes(text);
  if (!bytes) return false;
  const v4 = isV4Mapped(bytes);
  return bytes.every((byte, i) => byte === 0 || (v4 && (i === 10 || i === 11)));
}

export function isLoopbackIp(text: string): boolean {
  const bytes = ipBytes(text);
  if (!bytes) return false;
  if (isV4Mapped(bytes)) return bytes[12] === 127;
  return bytes.every((byte, i) => byte === (i === 15 ? 1 : 0));
}

export function sameIp(a: string, b: string): boolean {
  const left = ipBytes(a);
  const right = ipBytes(b);
  return left !== undefined && right !== undefined && left.every((byte, i) => byte === right[i]);
}

/** True for IPv6 text that is not an IPv4-mapped address. */
export function isIpv6(text: string): boolean {
  const bytes = ipBytes(text);
  return bytes !== undefined && !isV4Mapped(bytes);
}

/** `ip:port`, with brackets around IPv6 (Go's net.JoinHostPort). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  return bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN));
  return bytes.every((byte) => byte >= 0 && byte <= 255) ? bytes : undefined;
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  const address = text.replace(/%.*$/, "");
  if (!address.includes(":")) return undefined;
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (const [i, piece] of pieces.entries()) {
      const v4 = i === pieces.length - 1 ? ipv4Bytes(piece) : undefined;
      if (v4) {
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(Number.parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}
