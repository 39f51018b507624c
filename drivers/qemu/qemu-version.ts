// The QEMU version den needs, by host, as Lima requires it (pkg/driver/qemu): a hard minimum below which den
// refuses to start, and a soft one below which it warns. A template may raise the hard minimum with
// `vmOpts.qemu.minimumVersion`.
import { DenError } from "../../lib/errors.ts";

export interface QemuVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface VersionCheckOptions {
  hostOs: "Linux" | "Darwin";
  hostArch: string;
  /** `vmOpts.qemu.minimumVersion` of the instance, e.g. "8.2.1". */
  minimumVersion?: string | null;
}

export interface VersionCheck {
  /** Set when the version works but is older than recommended. */
  warning?: string;
}

interface Minimums {
  hard: string;
  soft?: string;
}

const VersionPattern = /^(\d+)\.(\d+)(?:\.(\d+))?/;
const UpgradeHint = "upgrade QEMU (e.g. `apt-get install qemu-system` or `brew upgrade qemu`), or point QEMU_SYSTEM_<ARCH> at a newer binary";

/** The version in `qemu-system-x86_64 --version` output, e.g. "QEMU emulator version 7.2.22 (Debian …)". */
export function parseQemuVersion(output: string): QemuVersion {
  const match = /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/.exec(output);
  if (!match) {
    const firstLine = output.split("\n", 1)[0]?.trim() ?? "";
    throw new DenError("QEMU_VERSION", `Cannot parse QEMU version from "${firstLine}"`, {
      hint: "check that the QEMU binary works: run it with --version",
    });
  }
  return parseVersionText(match[1]!);
}

/** "8.2.1" → {8, 2, 1}; a missing patch level is 0. */
export function parseVersionText(text: string): QemuVersion {
  const match = VersionPattern.exec(text.trim());
  if (!match) throw new DenError("CONFIG_INVALID", `Cannot parse version "${text}": expected MAJOR.MINOR[.PATCH]`, { hint: 'write a version such as "8.2.1"' });
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

export function formatQemuVersion(version: QemuVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareQemuVersions(a: QemuVersion, b: QemuVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Lima's minimums: macOS arm64 8.2.1, macOS x86_64 7.0 (8.2.1 recommended), Linux 4.0 (6.2 recommended). */
function minimumsFor(hostOs: "Linux" | "Darwin", hostArch: string): Minimums {
  if (hostOs === "Darwin") return hostArch === "aarch64" ? { hard: "8.2.1" } : { hard: "7.0.0", soft: "8.2.1" };
  return { hard: "4.0.0", soft: "6.2.0" };
}

/** Throws a DenError when `version` is too old for this host or template; returns a warning when merely old. */
export function checkQemuVersion(version: QemuVersion, options: VersionCheckOptions): VersionCheck {
  const { hard, soft } = minimumsFor(options.hostOs, options.hostArch);
  const have = formatQemuVersion(version);
  if (compareQemuVersions(version, parseVersionText(hard)) < 0) {
    throw new DenError("QEMU_VERSION", `QEMU ${have} is too old: den needs QEMU ${hard} or newer on ${options.hostOs} ${options.hostArch}`, { hint: UpgradeHint });
  }
  if (options.minimumVersion) {
    const wanted = parseVersionText(options.minimumVersion);
    if (compareQemuVersions(version, wanted) < 0) {
      throw new DenError("QEMU_VERSION", `QEMU ${have} is too old: the template requires QEMU ${formatQemuVersion(wanted)} or newer (vmOpts.qemu.minimumVersion)`, {
        hint: UpgradeHint,
      });
    }
  }
  if (soft && compareQemuVersions(version, parseVersionText(soft)) < 0) {
    return { warning: `QEMU ${have} is older than the recommended ${soft}; some features may not work` };
  }
  return {};
}
