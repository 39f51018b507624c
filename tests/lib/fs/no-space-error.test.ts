import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { formatMiB, isNoSpaceError, noSpaceError } from "../../../lib/fs/no-space-error.ts";
import { makeTempDirSync } from "../../support/temp-dir.ts";

const ENOSPC = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });

describe("isNoSpaceError()", () => {
  test.each([
    { name: "an ENOSPC system error", error: ENOSPC, want: true },
    { name: "an EDQUOT system error", error: Object.assign(new Error("quota"), { code: "EDQUOT" }), want: true },
    { name: "an ENOSPC two causes down", error: new DenError("IO", "outer", { cause: new Error("middle", { cause: ENOSPC }) }), want: true },
    { name: "a child's stderr quoted in a message", error: new DenError("QEMU_IMG", "qemu-img create failed: qemu-img: disk.tmp: Could not write qcow2 header: No space left on device"), want: true },
    { name: "another system error", error: Object.assign(new Error("EACCES"), { code: "EACCES" }), want: false },
    { name: "a value that is no error", error: "ENOSPC", want: false },
    { name: "undefined", error: undefined, want: false },
  ])("isNoSpaceError() tells $name", ({ error, want }) => {
    expect(isNoSpaceError(error)).toBe(want);
  });
});

describe("formatMiB()", () => {
  test.each([
    { bytes: 0, round: "down" as const, want: "0.0 MiB" },
    { bytes: 200 * 1024, round: "up" as const, want: "0.2 MiB" },
    { bytes: 200 * 1024, round: "down" as const, want: "0.1 MiB" },
    { bytes: 12.3 * 1024 * 1024, round: "up" as const, want: "13 MiB" },
    { bytes: 12.3 * 1024 * 1024, round: "down" as const, want: "12 MiB" },
  ])("formatMiB($bytes, $round) is $want", ({ bytes, round, want }) => {
    expect(formatMiB(bytes, round)).toBe(want);
  });
});

describe("noSpaceError()", () => {
  test("noSpaceError() names the file, the room needed and the room free, with a hint naming the folder", () => {
    const dir = makeTempDirSync("den-no-space-");
    const error = noSpaceError(join(dir, "image"), { what: "image", neededBytes: 12 * 1024 * 1024, cause: ENOSPC, hint: "or use another DEN_HOME" });
    expect(error).toMatchObject({ code: "IO", cause: ENOSPC, details: { code: "ENOSPC", path: join(dir, "image"), neededBytes: 12 * 1024 * 1024 } });
    expect(error.message).toMatch(new RegExp(`^Cannot write image "${dir}/image": no space left on the device \\(needs 12 MiB, [0-9.]+ MiB free\\)$`));
    expect(error.hint).toBe(`free space on the file system that holds "${dir}" (df -h shows it), then run the command again; or use another DEN_HOME`);
  });

  test.each([
    { name: "a lower bound", options: { atLeast: true }, want: "needs more than 1.0 MiB" },
    { name: "the rest after a kept part", options: { more: true }, want: "needs 1.0 MiB more" },
  ])("noSpaceError() words $name", ({ options, want }) => {
    expect(noSpaceError("/nonexistent-den-folder/file", { what: "x", neededBytes: 1024 * 1024, ...options }).message).toBe(`Cannot write x "/nonexistent-den-folder/file": no space left on the device (${want})`);
  });
});
