// The proxy for one download, from the usual variables as curl and Go read them: http_proxy / HTTP_PROXY for
// http, https_proxy / HTTPS_PROXY for https, all_proxy / ALL_PROXY for either, and no_proxy / NO_PROXY for the
// exceptions. den decides itself and tells fetch explicitly (Bun's own reading of the variables differs: it would
// send even 127.0.0.1 through the proxy).

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/** The proxy URL to use for `url`, or undefined for a direct connection. */
export function proxyForUrl(url: string, env: ProxyEnv): string | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  const scheme = target.protocol.replace(/:$/, "");
  if (scheme !== "http" && scheme !== "https") return undefined;
  const proxy = first(env, `${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, "all_proxy", "ALL_PROXY");
  if (!proxy) return undefined;
  const host = hostOf(target);
  // As Go's net/http: loopback never goes through a proxy.
  if (isLoopback(host)) return undefined;
  const port = target.port || (scheme === "https" ? "443" : "80");
  if (bypasses(first(env, "no_proxy", "NO_PROXY") ?? "", host, port)) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

/** True when a NO_PROXY list names `host` (lower case, IPv6 without brackets) on `port`. */
export function bypasses(noProxy: string, host: string, port: string): boolean {
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    const { name, port: entryPort } = splitHostPort(entry);
    if (entryPort && entryPort !== port) continue;
    if (name.includes("/")) {
      if (inCidr(host, name)) return true;
      continue;
    }
    const domain = name.replace(/^\*?\./, "");
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

function first(env: ProxyEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
}

function splitHostPort(entry: string): { name: string; port: string | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { name: bracketed[1] as string, port: bracketed[2] };
  // A bare IPv6 address has several colons and no port.
  const colons = entry.split(":").length - 1;
  const withPort = colons === 1 ? /^(.*):(\d+)$/.exec(entry) : null;
  return withPort ? { name: withPort[1] as string, port: withPort[2] } : { name: entry, port: undefined };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function inCidr(host: string, cidr: string): boolean {
  const [network, bitsText] = cidr.split("/") as [string, string];
  const bits = Number(bitsText);
  const a = ipv4(host);
  const b = ipv4(network);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

function ipv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}
