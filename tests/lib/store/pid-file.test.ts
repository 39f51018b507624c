import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isProcessAlive, readPidFile } from "../../../lib/store/pid-file.ts";

describe("readPidFile()", () => {
  test("returns the PID of a live process", async () => {
    const dir = await mkdtemp(join(tmpdir(), "den-pid-"));
    await writeFile(join(dir, "ha.pid"), `${process.pid}\n`);
    expect(await readPidFile(join(dir, "ha.pid"))).toBe(process.pid);
  });
  test("removes a stale PID file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "den-pid-"));
    const dead = Bun.spawnSync(["true"]).pid;
    await writeFile(join(dir, "qemu.pid"), `${dead}`);
    expect(await readPidFile(join(dir, "qemu.pid"))).toBeUndefined();
    expect(existsSync(join(dir, "qemu.pid"))).toBe(false);
  });
  test.each([{ text: "" }, { text: "abc" }, { text: "-5" }])("treats $text as no PID", async ({ text }) => {
    const dir = await mkdtemp(join(tmpdir(), "den-pid-"));
    await writeFile(join(dir, "x.pid"), text);
    expect(await readPidFile(join(dir, "x.pid"))).toBeUndefined();
  });
  test("returns undefined for a missing file", async () => {
    expect(await readPidFile("/nonexistent/den/ha.pid")).toBeUndefined();
  });
});

test("isProcessAlive() knows this process is alive", () => {
  expect(isProcessAlive(process.pid)).toBe(true);
});
