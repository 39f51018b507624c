import { describe, expect, test } from "bun:test";
import { checkDiskName, diskDirOf, diskMountPoint, isDiskName } from "../../../lib/disks/disk-name.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";

describe("checkDiskName()", () => {
  test.each([{ name: "data" }, { name: "build-cache" }, { name: "a.b_c-d" }, { name: "D1" }, { name: "x".repeat(255) }])("checkDiskName() accepts $name", ({ name }) => {
    expect(isDiskName(name)).toBe(true);
    expect(() => checkDiskName(name)).not.toThrow();
  });

  test.each([
    { name: "", reason: "must not be empty" },
    { name: "..", reason: 'names starting with "_" or "." are not disk names' },
    { name: "../x", reason: 'must not contain "/" or "\\"' },
    { name: "a/b", reason: 'must not contain "/" or "\\"' },
    { name: "_config", reason: 'names starting with "_" or "." are not disk names' },
    { name: ".hidden", reason: 'names starting with "_" or "." are not disk names' },
    { name: "a..b", reason: 'use letters and digits, separated by single ".", "_" or "-"' },
    { name: "trailing-", reason: 'use letters and digits, separated by single ".", "_" or "-"' },
    { name: "sp ace", reason: 'use letters and digits, separated by single ".", "_" or "-"' },
    { name: "x".repeat(256), reason: "longer than 255 bytes" },
  ])("checkDiskName() refuses \"$name\": $reason", ({ name, reason }) => {
    const error = caughtDenError(() => checkDiskName(name));
    expect(error.code).toBe("DISK_NAME_INVALID");
    expect(error.message).toEndWith(`: ${reason}`);
    expect(error.hint).toContain("letters and digits");
    expect(isDiskName(name)).toBe(false);
  });
});

describe("diskDirOf()", () => {
  test("diskDirOf() puts a disk in DEN_HOME/_disks", () => {
    expect(diskDirOf("/home/a/.den/", "data")).toBe("/home/a/.den/_disks/data");
  });

  test("diskDirOf() checks the name before joining it", () => {
    expect(caughtDenError(() => diskDirOf("/home/a/.den", "../../etc")).code).toBe("DISK_NAME_INVALID");
  });
});

test("diskMountPoint() is Lima's /mnt/lima-<name>", () => {
  expect(diskMountPoint("data")).toBe("/mnt/lima-data");
});
