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

// Zombies are told apart through /proc, which den's CI (Linux) has; on macOS a zombie still counts as alive.
test("isProcessAlive() counts a zombie as dead on Linux", async () => {
  if (process.platform !== "linux") return;
  // The background child becomes the exec'd sleep's child, which never reaps it: a zombie once it exits, until sleep ends.
  const parent = Bun.spawn(["sh", "-c", "sleep 0.1 & echo $!; exec sleep 5"], { stdout: "pipe" });
  const reader = parent.stdout.getReader();
  const { value } = await reader.read();
  const zombie = Number.parseInt(new TextDecoder().decode(value), 10);
  try {
    let state = "";
    for (let i = 0; i < 200 && !state.startsWith("Z"); i++) {
      await Bun.sleep(10);
      const stat = await Bun.file(`/proc/${zombie}/stat`).text();
      state = stat.slice(stat.lastIndexOf(")") + 2);
    }
    expect(state.startsWith("Z")).toBe(true);
    expect(isProcessAlive(zombie)).toBe(false);
  } finally {
    parent.kill("SIGKILL");
    await parent.exited;
  }
});
