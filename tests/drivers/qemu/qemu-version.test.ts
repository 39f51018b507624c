import { describe, expect, test } from "bun:test";
import { caughtDenError } from "../../support/caught-den-error.ts";
import { checkQemuVersion, compareQemuVersions, parseQemuVersion, parseVersionText } from "../../../drivers/qemu/qemu-version.ts";

describe("parseQemuVersion()", () => {
  test.each([
    { name: "Debian", output: "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n", want: { major: 7, minor: 2, patch: 22 } },
    { name: "Homebrew", output: "QEMU emulator version 9.1.0\nCopyright (c) 2003-2024 Fabrice Bellard and the QEMU Project developers\n", want: { major: 9, minor: 1, patch: 0 } },
    { name: "a release candidate", output: "QEMU emulator version 8.2.90 (v9.0.0-rc0)\n", want: { major: 8, minor: 2, patch: 90 } },
    { name: "no patch level", output: "QEMU emulator version 10.0\n", want: { major: 10, minor: 0, patch: 0 } },
  ])("parseQemuVersion() reads the $name version line", ({ output, want }) => {
    expect(parseQemuVersion(output)).toEqual(want);
  });

  test("parseQemuVersion() rejects output without a version line", () => {
    expect(() => parseQemuVersion("bash: qemu-system-x86_64: command not found\n")).toThrow('Cannot parse QEMU version from "bash: qemu-system-x86_64: command not found"');
  });
});

describe("compareQemuVersions()", () => {
  test.each([
    { a: "7.2.22", b: "8.2.1", sign: -1 },
    { a: "8.2.1", b: "8.2.1", sign: 0 },
    { a: "8.10.0", b: "8.2.1", sign: 1 },
    { a: "8.2", b: "8.2.0", sign: 0 },
  ])("compareQemuVersions() orders $a against $b", ({ a, b, sign }) => {
    expect(Math.sign(compareQemuVersions(parseVersionText(a), parseVersionText(b)))).toBe(sign);
  });
});

describe("checkQemuVersion()", () => {
  test.each([
    { name: "7.2 on Linux is fine", version: "7.2.22", hostOs: "Linux" as const, hostArch: "x86_64", want: {} },
    { name: "6.1 on Linux warns", version: "6.1.0", hostOs: "Linux" as const, hostArch: "x86_64", want: { warning: "QEMU 6.1.0 is older than the recommended 6.2.0; some features may not work" } },
    { name: "8.2.1 on an arm Mac is fine", version: "8.2.1", hostOs: "Darwin" as const, hostArch: "aarch64", want: {} },
    { name: "7.1 on an Intel Mac warns", version: "7.1.0", hostOs: "Darwin" as const, hostArch: "x86_64", want: { warning: "QEMU 7.1.0 is older than the recommended 8.2.1; some features may not work" } },
  ])("checkQemuVersion() accepts: $name", ({ version, hostOs, hostArch, want }) => {
    expect(checkQemuVersion(parseVersionText(version), { hostOs, hostArch })).toEqual(want);
  });

  test.each([
    { name: "3.1 on Linux", version: "3.1.0", hostOs: "Linux" as const, hostArch: "x86_64", minimumVersion: undefined, message: "QEMU 3.1.0 is too old: den needs QEMU 4.0.0 or newer on Linux x86_64" },
    { name: "8.2.0 on an arm Mac", version: "8.2.0", hostOs: "Darwin" as const, hostArch: "aarch64", minimumVersion: undefined, message: "QEMU 8.2.0 is too old: den needs QEMU 8.2.1 or newer on Darwin aarch64" },
    { name: "6.2 on an Intel Mac", version: "6.2.0", hostOs: "Darwin" as const, hostArch: "x86_64", minimumVersion: undefined, message: "QEMU 6.2.0 is too old: den needs QEMU 7.0.0 or newer on Darwin x86_64" },
    { name: "below the template's minimum", version: "7.2.22", hostOs: "Linux" as const, hostArch: "x86_64", minimumVersion: "9.0", message: "QEMU 7.2.22 is too old: the template requires QEMU 9.0.0 or newer (vmOpts.qemu.minimumVersion)" },
  ])("checkQemuVersion() refuses $name with a hint", ({ version, hostOs, hostArch, minimumVersion, message }) => {
    const error = caughtDenError(() => checkQemuVersion(parseVersionText(version), { hostOs, hostArch, minimumVersion }));
    expect(error.code).toBe("QEMU_VERSION");
    expect(error.message).toBe(message);
    expect(error.hint).toContain("upgrade QEMU");
  });
});
