// Where the UEFI firmware for a QEMU guest lives on this host. The candidates are Lima's (pkg/driver/qemu):
// QEMU's own edk2 builds beside the binary's prefix (Homebrew, /usr/local) and in ~/.local, then the paths of the
// distribution packages. A pure function over an `exists` callback, so every host layout can be table-tested.
import { dirname, join } from "node:path";

/** A firmware image QEMU maps read-only, and the template of its writable variable store when one was found. */
export interface FirmwareFiles {
  code: string;
  /** Template to copy, never to boot from directly: the guest writes its variables into it. */
  vars?: string;
}

export interface FirmwareSearch {
  /** Whether a regular file exists at this absolute path. */
  exists: (path: string) => boolean;
  /** Absolute path of the qemu-system binary; its prefix (`<prefix>/bin/qemu-system-*`) is searched first. */
  qemuBinary?: string;
  /** The user's home folder, for `~/.local/share/qemu`. */
  home?: string;
  /** Homebrew prefixes to search; default /opt/homebrew (Apple silicon) and /usr/local (Intel). */
  homebrewPrefixes?: readonly string[];
}

const DefaultHomebrewPrefixes = ["/opt/homebrew", "/usr/local"] as const;

/** edk2's arch names in QEMU's bundled firmware file names. */
function edk2Arch(arch: string): string {
  return arch === "aarch64" ? "aarch64" : arch === "riscv64" ? "riscv" : arch;
}

/** The vars file QEMU ships beside its bundled code file: x86_64 uses the i386 store, aarch64 the arm one. */
function edk2VarsArch(arch: string): string {
  return arch === "x86_64" ? "i386" : arch === "aarch64" ? "arm" : edk2Arch(arch);
}

/** Distribution packages: each code file with the vars template of the same build (sizes must match). */
const DistroFirmware: Readonly<Record<string, readonly FirmwareFiles[]>> = {
  x86_64: [
    // Debian/Ubuntu "ovmf": the 4 MiB build first, it is the one current QEMU machine types expect.
    { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
    { code: "/usr/share/OVMF/OVMF_CODE.fd", vars: "/usr/share/OVMF/OVMF_VARS.fd" },
    // Arch Linux "edk2-ovmf"
    { code: "/usr/share/edk2/x64/OVMF_CODE.4m.fd", vars: "/usr/share/edk2/x64/OVMF_VARS.4m.fd" },
    // Fedora "edk2-ovmf"
    { code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", vars: "/usr/share/edk2/ovmf/OVMF_VARS.fd" },
    // openSUSE "qemu-ovmf-x86_64"
    { code: "/usr/share/qemu/ovmf-x86_64.bin" },
  ],
  aarch64: [
    // Debian "qemu-efi-aarch64", Fedora "edk2-aarch64": padded to the 64 MiB the virt machine's flash needs.
    { code: "/usr/share/AAVMF/AAVMF_CODE.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.fd" },
    // Arch Linux "edk2-aarch64"
    { code: "/usr/share/edk2/aarch64/QEMU_CODE.fd", vars: "/usr/share/edk2/aarch64/QEMU_VARS.fd" },
    // Debian "qemu-efi-aarch64", unpadded build kept for compatibility
    { code: "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd" },
  ],
};

/** Every place searched for `arch`, in order; also what an error message lists. */
export function firmwareCandidates(arch: string, search: Omit<FirmwareSearch, "exists">): FirmwareFiles[] {
  const prefixes: string[] = [];
  if (search.home) prefixes.push(join(search.home, ".local"));
  if (search.qemuBinary) prefixes.push(dirname(dirname(search.qemuBinary)));
  prefixes.push(...(search.homebrewPrefixes ?? DefaultHomebrewPrefixes), "/usr");
  const bundled = unique(prefixes).map((prefix) => ({
    code: join(prefix, "share/qemu", `edk2-${edk2Arch(arch)}-code.fd`),
    vars: join(prefix, "share/qemu", `edk2-${edk2VarsArch(arch)}-vars.fd`),
  }));
  return [...bundled, ...(DistroFirmware[arch] ?? [])];
}

/** The first firmware found for `arch`, with its vars template when that exists too; undefined when none is found. */
export function findFirmware(arch: string, search: FirmwareSearch): FirmwareFiles | undefined {
  for (const candidate of firmwareCandidates(arch, search)) {
    if (!search.exists(candidate.code)) continue;
    return candidate.vars && search.exists(candidate.vars) ? { code: candidate.code, vars: candidate.vars } : { code: candidate.code };
  }
  return undefined;
}

/** What to install for `arch`, for the hint of a "no firmware" error. */
export function firmwarePackageHint(arch: string): string {
  if (arch === "aarch64") return "install UEFI firmware for aarch64 (Debian: apt-get install qemu-efi-aarch64; macOS: brew install qemu)";
  return "install UEFI firmware (Debian: apt-get install ovmf; macOS: brew install qemu), or set `firmware.legacyBIOS: true`";
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
