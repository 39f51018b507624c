// The facts about the host that built-in defaults depend on (CPU count, memory, user, timezone, …),
// read once at this edge so `fillDefaults` stays pure and tests pass their own.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { availableParallelism, homedir, hostname, release, tmpdir, totalmem, userInfo } from "node:os";
import { dirname, join } from "node:path";
import type { DriverAvailability } from "../../drivers/driver.ts";

export interface HostInfo {
  /** Node's platform name: `darwin`, `linux`, `win32`, … */
  os: string;
  /** Lima's name for the host architecture: `x86_64`, `aarch64`, … */
  arch: string;
  cpus: number;
  memoryBytes: number;
  username: string;
  uid: number;
  /** The user's full name (GECOS), used as the guest user's comment. */
  comment: string;
  home: string;
  /** Zoneinfo name such as `Europe/Berlin`, or "" when unknown. */
  timezone: string;
  /** The per-user temporary folder (`{{.TempDir}}`). */
  tempDir: string;
  /** Stable per-machine id; MAC addresses of extra networks are derived from it. */
  machineId: string;
  /** The macOS product version ("14.5") on darwin, null elsewhere or when unknown. */
  macosVersion: string | null;
  /** Whether this host can run each driver den has, by vmType: the default vmType is one that runs. */
  driverAvailability: Record<string, DriverAvailability>;
}

/** Reads the host facts from the running machine. */
export async function readHostInfo(): Promise<HostInfo> {
  const user = userInfo();
  const os = process.platform;
  // Imported when called: drivers/registry.ts imports this module (limaArch), and the registry is what knows
  // which drivers this host runs.
  const { denDrivers, runningHost } = await import("../../drivers/registry.ts");
  const driverAvailability = Object.fromEntries(denDrivers().list().map((entry) => [entry.registration.vmType, entry.availability]));
  return {
    os,
    arch: limaArch(process.arch),
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    username: user.username,
    uid: user.uid,
    comment: readFullName(os, user.username, user.uid),
    home: user.homedir || homedir(),
    timezone: readTimezone(process.env),
    tempDir: tmpdir(),
    machineId: readMachineId(os),
    macosVersion: runningHost().macosVersion ?? null,
    driverAvailability,
  };
}

/**
 * The running Mac's product version ("14.5") from SystemVersion.plist, the file `sw_vers` reads (no process to
 * spawn); from the Darwin kernel release when that file cannot be read. Undefined off macOS.
 */
export function readMacosVersion(os: string = process.platform): string | undefined {
  if (os !== "darwin") return undefined;
  try {
    const version = productVersionFromPlist(readFileSync("/System/Library/CoreServices/SystemVersion.plist", "utf8"));
    if (version !== undefined) return version;
  } catch {
    // fall back to the kernel's release
  }
  return macosVersionFromDarwinRelease(release());
}

/** `<key>ProductVersion</key><string>14.5</string>` → "14.5". */
export function productVersionFromPlist(text: string): string | undefined {
  const match = /<key>ProductVersion<\/key>\s*<string>(\d+(?:\.\d+){0,2})<\/string>/.exec(text);
  return match?.[1];
}

/**
 * The macOS version a Darwin kernel release belongs to, as exact as the kernel tells: Darwin 20-24 are macOS 11-15,
 * Darwin 25 is macOS 26 (Apple's numbering jumped to the year). Darwin 20-22 count their minor one ahead of macOS
 * (22.6 is 13.5), later ones keep it; a minor shared by several updates (21.6 is 12.5 to 12.7) reads as the first.
 */
export function macosVersionFromDarwinRelease(darwinRelease: string): string | undefined {
  const match = /^(\d+)\.(\d+)/.exec(darwinRelease);
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major < 20) return major >= 5 ? `10.${major - 4}` : undefined;
  if (major <= 22) return `${major - 9}.${Math.max(0, minor - 1)}`;
  return `${major >= 25 ? major + 1 : major - 9}.${minor}`;
}

/** Whether macOS `version` ("13.4.1") is `minimum` ("13.5") or later; a version that does not parse is not. */
export function macosAtLeast(version: string, minimum: string): boolean {
  const parse = (text: string) => (/^\d+(\.\d+)*$/.test(text) ? text.split(".").map(Number) : undefined);
  const have = parse(version);
  const want = parse(minimum);
  if (!have || !want) return false;
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    const a = have[i] ?? 0;
    const b = want[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

const NodeArchToLima: Record<string, string> = {
  x64: "x86_64",
  arm64: "aarch64",
  arm: "armv7l",
  ppc64: "ppc64le",
  riscv64: "riscv64",
  s390x: "s390x",
};

/** Node's `process.arch` in Lima's vocabulary (unknown names pass through). */
export function limaArch(nodeArch: string): string {
  return NodeArchToLima[nodeArch] ?? nodeArch;
}

/** The GECOS full name of `uid` from /etc/passwd text (the part before the first comma). */
export function gecosFromPasswd(passwd: string, uid: number): string {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 5 && Number(fields[2]) === uid && fields[2] !== "") return (fields[4] ?? "").split(",")[0] ?? "";
  }
  return "";
}

function readFullName(os: string, username: string, uid: number): string {
  try {
    if (os === "darwin") {
      const result = spawnSync("id", ["-F", username], { encoding: "utf8", timeout: 2000 });
      return result.status === 0 ? result.stdout.trim() : "";
    }
    return gecosFromPasswd(readFileSync("/etc/passwd", "utf8"), uid);
  } catch {
    return "";
  }
}

/**
 * The host's zone name, as Lima finds it: /etc/timezone, else the target of the /etc/localtime symlink
 * relative to the zoneinfo folder (the ancestor holding `Etc/UTC`); den falls back to a named `TZ`.
 */
function readTimezone(env: NodeJS.ProcessEnv): string {
  if (process.platform !== "win32") {
    try {
      const text = readFileSync("/etc/timezone", "utf8").trim();
      if (text !== "") return text;
    } catch {
      // absent on macOS and many distributions
    }
    try {
      const zone = zoneFromLocaltime(realpathSync("/etc/localtime"), existsSync);
      if (zone !== "") return zone;
    } catch {
      // no /etc/localtime
    }
  }
  return zoneFromTzVariable(env.TZ);
}

/** `/usr/share/zoneinfo/Europe/Berlin` → `Europe/Berlin`, finding the zoneinfo root by its `Etc/UTC`. */
export function zoneFromLocaltime(resolved: string, exists: (path: string) => boolean): string {
  for (let base = dirname(resolved); base !== "/" && base !== "."; base = dirname(base)) {
    if (exists(join(base, "Etc/UTC"))) return resolved.slice(base.length + 1);
  }
  return "";
}

/** `TZ=Europe/Berlin` or `TZ=:Europe/Berlin` name a zone; POSIX rules such as `CET-1CEST` do not. */
export function zoneFromTzVariable(tz: string | undefined): string {
  const name = (tz ?? "").replace(/^:/, "");
  if (name.startsWith("/")) return "";
  return /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name) && !/\d/.test(name.split("/")[0] ?? "") ? name : "";
}

/** /etc/machine-id on Linux, the IOPlatformUUID on macOS, else the hostname (as Lima does). */
function readMachineId(os: string): string {
  if (os === "darwin") {
    const result = spawnSync("ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"], { encoding: "utf8", timeout: 2000 });
    const match = /"IOPlatformUUID" = "([^"]+)"/.exec(result.stdout ?? "");
    if (match?.[1]) return match[1];
  } else {
    for (const file of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
      try {
        const id = readFileSync(file, "utf8").trim();
        if (id !== "") return id;
      } catch {
        // try the next location
      }
    }
  }
  return hostname();
}
