import { describe, expect, test } from "bun:test";
import { denEnv } from "../../../cidata/env-files.ts";
import { diskSerial, guestDiskEnv, guestDisks } from "../../../lib/disks/guest-disks.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { caughtError } from "../../support/caught-den-error.ts";
import { argsFor, filledConfig, sourceShellFile } from "../../cidata/seed-fixture.ts";

describe("diskSerial()", () => {
  test.each([
    { name: "data", want: "lima-data" },
    { name: "fifteen-chars-x", want: "lima-fifteen-chars-x" },
    // 21 bytes as lima-<name>: 15 hex digits of sha256("sixteen-chars-xy") instead.
    { name: "sixteen-chars-xy", want: "lima-584a08a217e5469" },
  ])("diskSerial() of $name is $want, at most 20 bytes", ({ name, want }) => {
    expect(diskSerial(name)).toBe(want);
    expect(Buffer.byteLength(want)).toBeLessThanOrEqual(20);
  });

  test("diskSerial() gives long names that share a prefix different serials", () => {
    expect(diskSerial("a-very-long-disk-name-1")).not.toBe(diskSerial("a-very-long-disk-name-2"));
  });
});

describe("guestDisks()", () => {
  test("guestDisks() fills each disk's serial from its name", () => {
    const config = filledConfig({ additionalDisks: ["data", { name: "raw1", format: false, fsType: "xfs", fsArgs: ["-m", "crc=1"] }] });
    expect(guestDisks(config.additionalDisks)).toEqual([
      { name: "data", serial: "lima-data", format: true, fsType: "ext4", fsArgs: [] },
      { name: "raw1", serial: "lima-raw1", format: false, fsType: "xfs", fsArgs: ["-m", "crc=1"] },
    ]);
  });

  test.each([{ fsType: "ext4 -F" }, { fsType: "EXT4" }, { fsType: "../x" }, { fsType: "" }])("guestDisks() refuses fsType \"$fsType\"", ({ fsType }) => {
    const config = filledConfig({ additionalDisks: [{ name: "data", fsType }] });
    const error = caughtError(() => guestDisks(config.additionalDisks), ConfigError);
    expect(error.issues.map((issue) => issue.path)).toEqual([["additionalDisks", 0, "fsType"]]);
  });
});

describe("guestDiskEnv()", () => {
  test("guestDiskEnv() writes nothing without disks", () => {
    expect(guestDiskEnv([])).toEqual([]);
  });

  test("guestDiskEnv() writes a count and each disk's fields, one entry per fsArgs argument", () => {
    expect(
      guestDiskEnv([
        { name: "a", serial: "lima-a", format: true, fsType: "ext4", fsArgs: [] },
        { name: "b", serial: "lima-b", format: false, fsType: "xfs", fsArgs: ["-m", "a b"] },
      ]),
    ).toEqual([
      ["DISKS", "2"],
      ["DISK_0_NAME", "a"],
      ["DISK_0_SERIAL", "lima-a"],
      ["DISK_0_FORMAT", "1"],
      ["DISK_0_FSTYPE", "ext4"],
      ["DISK_0_FSARGS", "0"],
      ["DISK_1_NAME", "b"],
      ["DISK_1_SERIAL", "lima-b"],
      ["DISK_1_FORMAT", ""],
      ["DISK_1_FSTYPE", "xfs"],
      ["DISK_1_FSARGS", "2"],
      ["DISK_1_FSARGS_0", "-m"],
      ["DISK_1_FSARGS_1", "a b"],
    ]);
  });

  test("denEnv() carries the disks, and bash reads hostile fsArgs back exactly", async () => {
    const hostile = "$(touch pwned) 'q' \"d\"\nEVIL=1";
    const text = denEnv(argsFor({ additionalDisks: [{ name: "data", fsArgs: [hostile] }] }));
    const env = (await sourceShellFile("bash", text)).env;
    expect(env.get("DEN_CIDATA_DISKS")).toBe("1");
    expect(env.get("DEN_CIDATA_DISK_0_SERIAL")).toBe("lima-data");
    expect(env.get("DEN_CIDATA_DISK_0_FSARGS_0")).toBe(hostile);
    expect(denEnv(argsFor({}))).not.toContain("DISK");
  });
});
