import { expect, test } from "bun:test";
import {
  gecosFromPasswd,
  limaArch,
  macosAtLeast,
  macosVersionFromDarwinRelease,
  productVersionFromPlist,
  readHostInfo,
  readMacosVersion,
  zoneFromLocaltime,
  zoneFromTzVariable,
} from "../../../lib/config/host-info.ts";

test.each([
  { node: "x64", want: "x86_64" },
  { node: "arm64", want: "aarch64" },
  { node: "arm", want: "armv7l" },
  { node: "ppc64", want: "ppc64le" },
  { node: "riscv64", want: "riscv64" },
  { node: "s390x", want: "s390x" },
  { node: "mips", want: "mips" },
])("limaArch($node) is $want", ({ node, want }) => {
  expect(limaArch(node)).toBe(want);
});

const passwd = ["root:x:0:0:root:/root:/bin/bash", "alice:x:1000:1000:Alice Liddell,Room 1,,:/home/alice:/bin/bash", "bob:x:1001:1001::/home/bob:/bin/sh"].join("\n");

test.each([
  { uid: 1000, want: "Alice Liddell" },
  { uid: 1001, want: "" },
  { uid: 0, want: "root" },
  { uid: 4242, want: "" },
])("gecosFromPasswd() finds the full name of uid $uid", ({ uid, want }) => {
  expect(gecosFromPasswd(passwd, uid)).toBe(want);
});

test.each([
  { resolved: "/usr/share/zoneinfo/Europe/Berlin", root: "/usr/share/zoneinfo", want: "Europe/Berlin" },
  { resolved: "/var/db/timezone/zoneinfo/America/Argentina/Buenos_Aires", root: "/var/db/timezone/zoneinfo", want: "America/Argentina/Buenos_Aires" },
  { resolved: "/usr/share/zoneinfo/UTC", root: "/usr/share/zoneinfo", want: "UTC" },
  { resolved: "/etc/localtime", root: "/nowhere", want: "" },
])("zoneFromLocaltime() reads $want from $resolved", ({ resolved, root, want }) => {
  expect(zoneFromLocaltime(resolved, (path) => path === `${root}/Etc/UTC`)).toBe(want);
});

test.each([
  { tz: "Europe/Berlin", want: "Europe/Berlin" },
  { tz: ":Asia/Tokyo", want: "Asia/Tokyo" },
  { tz: "UTC", want: "UTC" },
  { tz: "CET-1CEST", want: "" },
  { tz: "/usr/share/zoneinfo/UTC", want: "" },
  { tz: undefined, want: "" },
])("zoneFromTzVariable($tz) is $want", ({ tz, want }) => {
  expect(zoneFromTzVariable(tz)).toBe(want);
});

test("readHostInfo() reports plausible facts about this machine", async () => {
  const info = await readHostInfo();
  expect(info.cpus).toBeGreaterThan(0);
  expect(info.memoryBytes).toBeGreaterThan(0);
  expect(info.username).not.toBe("");
  expect(info.home.startsWith("/")).toBe(true);
  expect(info.machineId).not.toBe("");
  expect(["x86_64", "aarch64", "armv7l", "ppc64le", "riscv64", "s390x"]).toContain(info.arch);
  expect(info.driverAvailability.qemu).toBeDefined();
  if (info.os !== "darwin") expect(info.macosVersion).toBeNull();
});

test.each([
  { release: "19.6.0", want: "10.15" },
  { release: "20.1.0", want: "11.0" },
  { release: "20.6.0", want: "11.5" },
  { release: "21.1.0", want: "12.0" },
  { release: "21.6.0", want: "12.5" },
  { release: "22.1.0", want: "13.0" },
  { release: "22.5.0", want: "13.4" },
  { release: "22.6.0", want: "13.5" },
  { release: "23.0.0", want: "14.0" },
  { release: "23.6.0", want: "14.6" },
  { release: "24.5.0", want: "15.5" },
  { release: "25.0.0", want: "26.0" },
  { release: "25.2.0", want: "26.2" },
  { release: "6.8.0", want: "10.2" },
  { release: "4.1.0", want: undefined },
  { release: "", want: undefined },
])("macosVersionFromDarwinRelease($release) is $want", ({ release, want }) => {
  expect(macosVersionFromDarwinRelease(release)).toBe(want);
});

test.each([
  { name: "a product version", text: "<dict>\n\t<key>ProductName</key>\n\t<string>macOS</string>\n\t<key>ProductVersion</key>\n\t<string>14.5</string>\n</dict>", want: "14.5" },
  { name: "a three-part version", text: "<key>ProductVersion</key><string>12.7.6</string>", want: "12.7.6" },
  { name: "no product version", text: "<key>ProductBuildVersion</key><string>23F79</string>", want: undefined },
  { name: "a version that is not numbers", text: "<key>ProductVersion</key><string>fourteen</string>", want: undefined },
])("productVersionFromPlist() reads $name", ({ text, want }) => {
  expect(productVersionFromPlist(text)).toBe(want);
});

test.each([
  { version: "13.0", minimum: "13", want: true },
  { version: "12.7.6", minimum: "13", want: false },
  { version: "13.4.1", minimum: "13.5", want: false },
  { version: "13.5", minimum: "13.5", want: true },
  { version: "13.10", minimum: "13.5", want: true },
  { version: "26.0", minimum: "13.5", want: true },
  { version: "", minimum: "13", want: false },
  { version: "14.x", minimum: "13", want: false },
])("macosAtLeast($version, $minimum) is $want", ({ version, minimum, want }) => {
  expect(macosAtLeast(version, minimum)).toBe(want);
});

test("readMacosVersion() is undefined off macOS", () => {
  expect(readMacosVersion("linux")).toBeUndefined();
});
