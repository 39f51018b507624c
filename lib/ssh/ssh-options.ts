// The OpenSSH options den uses to reach a guest, as Lima chooses them, and their two renderings:
// `-o Key=Value` arguments for the system `ssh`, and the per-instance `ssh.config` for `ssh -F`.
import { DenError } from "../errors.ts";

/** One OpenSSH option; the list keeps Lima's order, and OpenSSH takes the first value it sees for a key. */
export type SshOption = readonly [key: string, value: string];

export interface OpensshVersion {
  major: number;
  minor: number;
  /** The portable release number (`p1` → 1); 0 when the banner has none. */
  patch: number;
}

export interface SshOptionsParams {
  /** den's private key, `$DEN_HOME/_config/user`. */
  identityFile: string;
  /** The guest user name. */
  user: string;
  /** The ControlMaster socket, `<instance>/ssh.sock`. */
  controlPath: string;
  /** The forwarded SSH port on 127.0.0.1. */
  port: number;
  /** The local `ssh -V` version; unknown means the options every OpenSSH understands. */
  opensshVersion?: OpensshVersion | undefined;
  /** Whether the host CPU accelerates AES, which makes AES-GCM the faster cipher. */
  hostHasAesNi?: boolean | undefined;
  forwardAgent?: boolean | undefined;
}

/** The address every guest's SSH port is forwarded to. */
export const SshAddress = "127.0.0.1";

/** Lima's option list for `limactl shell` and `ssh.config`, plus Hostname, Port and LogLevel. */
export function sshOptions(params: SshOptionsParams): SshOption[] {
  const version = params.opensshVersion;
  const options: SshOption[] = [
    ["IdentityFile", escapePercent(params.identityFile)],
    ["StrictHostKeyChecking", "no"],
    ["UserKnownHostsFile", "/dev/null"],
    ["NoHostAuthenticationForLocalhost", "yes"],
    ["PreferredAuthentications", "publickey"],
    ["Compression", "no"],
    ["BatchMode", "yes"],
    ["IdentitiesOnly", "yes"],
    ["GSSAPIAuthentication", "no"],
  ];
  // `^` (put these first in the default list) exists since OpenSSH 8.1. OpenSSH prefers chacha20 even
  // where AES-GCM is faster in hardware, so Lima reorders the list.
  if (version && atLeast(version, 8, 1)) {
    options.push(["Ciphers", params.hostHasAesNi ? "^aes128-gcm@openssh.com,aes256-gcm@openssh.com" : "^chacha20-poly1305@openssh.com"]);
  }
  options.push(
    ["User", params.user],
    ["ControlMaster", "auto"],
    ["ControlPath", escapePercent(params.controlPath)],
    ["ControlPersist", "yes"],
  );
  if (params.forwardAgent) options.push(["ForwardAgent", "yes"]);
  options.push(
    ["Hostname", SshAddress],
    ["Port", String(params.port)],
    // Before 8.9, ERROR still printed "Shared connection to 127.0.0.1 closed." after every `-t` session.
    ["LogLevel", version && atLeast(version, 8, 9) ? "ERROR" : "QUIET"],
  );
  return options;
}

/** `["-o", "IdentityFile=/x/user", "-o", …]`; each value is quoted as OpenSSH's own tokenizer expects. */
export function sshArgs(options: readonly SshOption[]): string[] {
  return options.flatMap(([key, value]) => ["-o", `${key}=${configValue(key, value)}`]);
}

/** The `ssh.config` text: a header comment, `Host den-NAME`, then one indented `Key Value` line per option. */
export function renderSshConfig(name: string, options: readonly SshOption[]): string {
  const lines = [
    `# This SSH config file can be passed to 'ssh -F': ssh -F <this file> ${sshHostAlias(name)}`,
    "# den rewrites it on every start of the instance, so changes made here do not last.",
    `Host ${sshHostAlias(name)}`,
    ...options.map(([key, value]) => `  ${key} ${configValue(key, value)}`),
  ];
  return `${lines.join("\n")}\n`;
}

/** The `Host` alias of an instance in its `ssh.config`. */
export function sshHostAlias(name: string): string {
  return `den-${name}`;
}

/** Reads `ssh -V` output such as `OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15`; undefined when it is not OpenSSH. */
export function parseOpensshVersion(banner: string): OpensshVersion | undefined {
  const match = /^OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)(?:p(\d+))?/.exec(banner.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

function atLeast(version: OpensshVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

// IdentityFile and ControlPath go through OpenSSH's `%` token expansion; a literal `%` in a path must be doubled.
function escapePercent(path: string): string {
  return path.replaceAll("%", "%%");
}

/**
 * A value as OpenSSH's config tokenizer reads it: bare when it is one plain word, else in double quotes
 * with `"` and `\` escaped by a backslash (the escapes its tokenizer undoes). A line break cannot be
 * written at all, and `#` starts a comment, so those are quoted or refused rather than misread.
 */
function configValue(key: string, value: string): string {
  if (/[\n\r\0]/.test(value)) {
    throw new DenError("IO", `Cannot write SSH option "${key}": its value ${JSON.stringify(value)} contains a line break`, {
      hint: "move DEN_HOME to a folder whose path has no line breaks",
    });
  }
  if (value !== "" && !/[\s"'\\#]/.test(value)) return value;
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
