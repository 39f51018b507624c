// cidata/boot/linux/05-rosetta.sh through boot.sh in a fake root (see boot-fixture.ts): binfmt_misc's files are plain
// files there, so a registration is what the script wrote to `register`. Mounting the share needs a real VZ guest.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeBootFixture } from "./boot-fixture.ts";

const scripts = ["boot/linux/05-rosetta.sh"];
const register = "proc/sys/fs/binfmt_misc/register";
const entry = "proc/sys/fs/binfmt_misc/rosetta";
const binfmtd = "usr/lib/binfmt.d/rosetta.conf";
/** Lima's registration line: x86_64 ELF (machine 0x3e) through /mnt/lima-rosetta/rosetta, flags OCF. */
const expected =
  ":rosetta:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x3e\\x00:\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/mnt/lima-rosetta/rosetta:OCF\n";

describe("linux/05-rosetta.sh", () => {
  test("05-rosetta.sh registers Rosetta in binfmt_misc and binfmt.d when enabled with binfmt", async () => {
    await using fx = makeBootFixture({
      scripts,
      env: { ROSETTA_ENABLED: "1", ROSETTA_BINFMT: "1" },
      rootFiles: { [register]: "", "usr/lib/binfmt.d/other.conf": "" },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(0);
    expect(run.console).toContain("registered rosetta in binfmt_misc");
    expect(fx.read(register)).toBe(expected);
    expect(fx.read(binfmtd)).toBe(expected);
    expect(existsSync(join(fx.root, "mnt/lima-rosetta"))).toBe(true);
    // The entry the kernel would have made: the next boot registers nothing and leaves binfmt.d as it is.
    fx.write(entry, "enabled\n");
    fx.write(register, "");
    const second = fx.boot();
    expect(second.console).not.toContain("registered");
    expect(second.console).not.toContain("wrote");
    expect(fx.read(register)).toBe("");
  });

  test("05-rosetta.sh writes no binfmt.d entry where systemd-binfmt has no folder", async () => {
    await using fx = makeBootFixture({ scripts, env: { ROSETTA_ENABLED: "1", ROSETTA_BINFMT: "1" }, rootFiles: { [register]: "" } });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read(register)).toBe(expected);
    expect(fx.read(binfmtd)).toBeUndefined();
  });

  test.each([
    { name: "Rosetta is off", env: { ROSETTA_ENABLED: "", ROSETTA_BINFMT: "" } },
    { name: "Rosetta is on without binfmt", env: { ROSETTA_ENABLED: "1", ROSETTA_BINFMT: "" } },
    { name: "the seed predates the Rosetta settings", env: { ROSETTA_ENABLED: undefined, ROSETTA_BINFMT: undefined } },
  ])("05-rosetta.sh undoes an earlier registration when $name", async ({ env }) => {
    await using fx = makeBootFixture({ scripts, env, rootFiles: { [entry]: "enabled\n", [binfmtd]: expected, [register]: "" } });
    const run = fx.boot();
    expect(run.exitCode).toBe(0);
    expect(run.console).toContain("unregistered rosetta from binfmt_misc");
    expect(fx.read(entry)).toBe("-1\n");
    expect(fx.read(binfmtd)).toBeUndefined();
    expect(fx.read(register)).toBe("");
  });
});
