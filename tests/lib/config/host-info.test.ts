import { expect, test } from "bun:test";
import { gecosFromPasswd, limaArch, readHostInfo, zoneFromLocaltime, zoneFromTzVariable } from "../../../lib/config/host-info.ts";

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
});
