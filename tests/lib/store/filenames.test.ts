import { expect, test } from "bun:test";
import * as filenames from "../../../lib/store/filenames.ts";
import { driverPidFile, LongestSock, QemuPid, TmpFileSuffixes } from "../../../lib/store/filenames.ts";

const names = Object.entries(filenames as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === "string");

test.each([
  { vmType: "qemu", want: QemuPid },
  { vmType: "vz", want: "vz.pid" },
])("driverPidFile() names the PID file of vmType $vmType $want", ({ vmType, want }) => {
  expect(driverPidFile(vmType)).toBe(want);
});

test("every file name is a plain name, never a path", () => {
  for (const [, name] of names) expect(name).not.toContain("/");
});

test("no two constants name the same file", () => {
  const values = names.filter(([key]) => key !== "LongestSock").map(([, name]) => name);
  expect(new Set(values).size).toBe(values.length);
});

test("LongestSock is at least as long as every socket name", () => {
  for (const [, name] of names.filter(([, name]) => name.endsWith(".sock"))) expect(LongestSock.length).toBeGreaterThanOrEqual(name.length);
});

test.each(["ha.pid", "qemu.pid", "ha.sock", "den.lock.1.2.tmp"].map((name) => ({ name })))("TmpFileSuffixes covers crash leftover $name", ({ name }) => {
  expect(TmpFileSuffixes.some((suffix) => name.endsWith(suffix))).toBe(true);
});
