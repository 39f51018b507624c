import { describe, expect, test } from "bun:test";
import { findFirmware, firmwareCandidates } from "../../../drivers/qemu/firmware.ts";

const home = "/home/alice";

describe("findFirmware()", () => {
  test.each([
    {
      name: "finds Debian's 4M OVMF with its vars template",
      arch: "x86_64",
      files: ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd"],
      want: { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
    },
    {
      name: "falls back to Debian's 2M OVMF",
      arch: "x86_64",
      files: ["/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"],
      want: { code: "/usr/share/OVMF/OVMF_CODE.fd", vars: "/usr/share/OVMF/OVMF_VARS.fd" },
    },
    {
      name: "returns the code alone when its vars template is missing",
      arch: "x86_64",
      files: ["/usr/share/OVMF/OVMF_CODE.fd"],
      want: { code: "/usr/share/OVMF/OVMF_CODE.fd" },
    },
    {
      name: "prefers QEMU's bundled edk2 under /usr/share/qemu with the i386 vars",
      arch: "x86_64",
      files: ["/usr/share/qemu/edk2-x86_64-code.fd", "/usr/share/qemu/edk2-i386-vars.fd", "/usr/share/OVMF/OVMF_CODE_4M.fd"],
      want: { code: "/usr/share/qemu/edk2-x86_64-code.fd", vars: "/usr/share/qemu/edk2-i386-vars.fd" },
    },
    {
      name: "finds Homebrew's edk2 on Apple silicon",
      arch: "aarch64",
      files: ["/opt/homebrew/share/qemu/edk2-aarch64-code.fd", "/opt/homebrew/share/qemu/edk2-arm-vars.fd"],
      want: { code: "/opt/homebrew/share/qemu/edk2-aarch64-code.fd", vars: "/opt/homebrew/share/qemu/edk2-arm-vars.fd" },
    },
    {
      name: "finds Homebrew's edk2 on an Intel Mac",
      arch: "x86_64",
      files: ["/usr/local/share/qemu/edk2-x86_64-code.fd"],
      want: { code: "/usr/local/share/qemu/edk2-x86_64-code.fd" },
    },
    {
      name: "prefers the user's ~/.local copy over everything",
      arch: "x86_64",
      files: [`${home}/.local/share/qemu/edk2-x86_64-code.fd`, "/usr/local/share/qemu/edk2-x86_64-code.fd"],
      want: { code: `${home}/.local/share/qemu/edk2-x86_64-code.fd` },
    },
    {
      name: "searches the prefix of the QEMU binary before the Homebrew prefixes",
      arch: "x86_64",
      qemuBinary: "/opt/qemu-9/bin/qemu-system-x86_64",
      files: ["/opt/qemu-9/share/qemu/edk2-x86_64-code.fd", "/usr/local/share/qemu/edk2-x86_64-code.fd"],
      want: { code: "/opt/qemu-9/share/qemu/edk2-x86_64-code.fd" },
    },
    {
      name: "finds Debian's AAVMF for aarch64",
      arch: "aarch64",
      files: ["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"],
      want: { code: "/usr/share/AAVMF/AAVMF_CODE.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.fd" },
    },
    {
      name: "falls back to the unpadded QEMU_EFI.fd for aarch64",
      arch: "aarch64",
      files: ["/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"],
      want: { code: "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd" },
    },
    { name: "does not use x86_64 firmware for an aarch64 guest", arch: "aarch64", files: ["/usr/share/OVMF/OVMF_CODE.fd"], want: undefined },
    { name: "returns undefined when nothing is installed", arch: "x86_64", files: [], want: undefined },
  ])("findFirmware() $name", ({ arch, files, want, qemuBinary }) => {
    const exists = (path: string) => (files as readonly string[]).includes(path);
    expect(findFirmware(arch, { exists, home, ...(qemuBinary && { qemuBinary }) })).toEqual(want);
  });

  test("findFirmware() honours custom Homebrew prefixes", () => {
    const exists = (path: string) => path === "/brew/share/qemu/edk2-aarch64-code.fd";
    expect(findFirmware("aarch64", { exists, homebrewPrefixes: ["/brew"] })).toEqual({ code: "/brew/share/qemu/edk2-aarch64-code.fd" });
  });
});

describe("firmwareCandidates()", () => {
  test("firmwareCandidates() lists each prefix once, in search order, then the distribution paths", () => {
    const codes = firmwareCandidates("x86_64", { home, qemuBinary: "/usr/local/bin/qemu-system-x86_64" }).map((candidate) => candidate.code);
    expect(codes).toEqual([
      `${home}/.local/share/qemu/edk2-x86_64-code.fd`,
      "/usr/local/share/qemu/edk2-x86_64-code.fd",
      "/opt/homebrew/share/qemu/edk2-x86_64-code.fd",
      "/usr/share/qemu/edk2-x86_64-code.fd",
      "/usr/share/OVMF/OVMF_CODE_4M.fd",
      "/usr/share/OVMF/OVMF_CODE.fd",
      "/usr/share/edk2/x64/OVMF_CODE.4m.fd",
      "/usr/share/edk2/ovmf/OVMF_CODE.fd",
      "/usr/share/qemu/ovmf-x86_64.bin",
    ]);
  });
});
