import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  commandHasWords,
  defaultProcessReader,
  driverOwner,
  hostAgentOwner,
  isProcessAlive,
  parseBootTime,
  parseProcStatStartTicks,
  parsePsLine,
  type ProcessFacts,
  readOwnedPid,
  readPidFile,
} from "../../../lib/store/pid-file.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

describe("readPidFile()", () => {
  test("returns the PID of a live process", async () => {
    const dir = await makeTempDir("den-pid-");
    await writeFile(join(dir, "ha.pid"), `${process.pid}\n`);
    expect(await readPidFile(join(dir, "ha.pid"))).toBe(process.pid);
  });
  test("removes a stale PID file", async () => {
    const dir = await makeTempDir("den-pid-");
    const dead = Bun.spawnSync(["true"]).pid;
    await writeFile(join(dir, "qemu.pid"), `${dead}`);
    expect(await readPidFile(join(dir, "qemu.pid"))).toBeUndefined();
    expect(existsSync(join(dir, "qemu.pid"))).toBe(false);
  });
  test.each([{ text: "" }, { text: "abc" }, { text: "-5" }])("treats $text as no PID", async ({ text }) => {
    const dir = await makeTempDir("den-pid-");
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

describe("readOwnedPid()", () => {
  const owner = hostAgentOwner("vm");
  const argv = ["/usr/local/bin/den", "hostagent", "vm"];

  /** A PID file naming this (live) test process, written at `writtenAtMs`, read with fake process facts. */
  async function check(facts: ProcessFacts | undefined, writtenAtMs = Date.now()) {
    const dir = await makeTempDir("den-pid-");
    const path = join(dir, "ha.pid");
    await writeFile(path, `${process.pid}\n`);
    await utimes(path, writtenAtMs / 1000, writtenAtMs / 1000);
    const result = await readOwnedPid(path, { expect: owner, readProcess: async () => facts });
    return { result, kept: existsSync(path) };
  }

  test.each([
    { name: "the expected argv, started before the file", facts: { argv, startedAtMs: Date.now() - 60_000 }, owned: true },
    { name: "the expected words in a ps command line", facts: { command: argv.join(" "), startedAtMs: Date.now() - 60_000 }, owned: true },
    { name: "a start within the slack after the file", facts: { argv, startedAtMs: Date.now() + 1000 }, owned: true },
    { name: "another program's argv", facts: { argv: ["sleep", "60"], startedAtMs: Date.now() - 60_000 }, owned: false, stale: 'is not the host agent of "vm"' },
    { name: "another instance's host agent", facts: { argv: ["den", "hostagent", "vm2"], startedAtMs: 0 }, owned: false, stale: "is not the host agent" },
    { name: "the words apart", facts: { argv: ["den", "hostagent", "--debug", "vm"], startedAtMs: 0 }, owned: false, stale: "is not the host agent" },
    { name: "a process that started after the file was written", facts: { argv, startedAtMs: Date.now() + 60_000 }, owned: false, stale: "after the file was written" },
    { name: "a process that cannot be inspected", facts: undefined, owned: false, stale: "cannot be inspected" },
  ])("trusts $name: $owned", async ({ facts, owned, stale }) => {
    const { result, kept } = await check(facts);
    expect(result.pid).toBe(owned ? process.pid : undefined);
    if (stale) expect(result.stale).toContain(stale);
    expect(kept).toBe(owned);
  });

  test.each([{ text: "" }, { text: "abc" }, { text: "-5" }, { text: "12abc" }, { text: "99999999999999999999" }])("removes a file holding $text", async ({ text }) => {
    const dir = await makeTempDir("den-pid-");
    await writeFile(join(dir, "x.pid"), text);
    const result = await readOwnedPid(join(dir, "x.pid"), { expect: owner, readProcess: async () => ({ argv, startedAtMs: 0 }) });
    expect(result).toEqual({ stale: "x.pid is stale: it holds no PID" });
    expect(existsSync(join(dir, "x.pid"))).toBe(false);
  });

  test("removes a file naming a dead process without inspecting it", async () => {
    const dir = await makeTempDir("den-pid-");
    const dead = Bun.spawnSync(["true"]).pid;
    await writeFile(join(dir, "qemu.pid"), `${dead}`);
    const result = await readOwnedPid(join(dir, "qemu.pid"), { expect: owner, readProcess: async () => { throw new Error("not asked"); } });
    expect(result.stale).toBe(`qemu.pid is stale: process ${dead} is not running`);
  });

  test("returns nothing for a missing file", async () => {
    expect(await readOwnedPid("/nonexistent/den/ha.pid", { expect: owner })).toEqual({});
  });

  test("trusts a real child whose argv carries the words, with the host's process reader", async () => {
    const dir = await makeTempDir("den-pid-");
    const path = join(dir, "qemu.pid");
    const child = Bun.spawn(["sh", "-c", "read _", "qemu", "-pidfile", path], { stdin: "pipe" });
    try {
      await untilExeced(child.pid, ["qemu", "-pidfile", path]);
      await writeFile(path, `${child.pid}\n`);
      expect(await readOwnedPid(path, { expect: driverOwner(path) })).toEqual({ pid: child.pid });
      expect((await readOwnedPid(path, { expect: driverOwner(join(dir, "other.pid")) })).pid).toBeUndefined();
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  });
});

test("defaultProcessReader() reads a child's command line and a start time between spawn and now", async () => {
  const before = Date.now();
  const child = Bun.spawn(["sh", "-c", "read _", "den", "hostagent", "vm"], { stdin: "pipe" });
  try {
    await untilExeced(child.pid, ["den", "hostagent", "vm"]);
    const facts = await defaultProcessReader(child.pid);
    expect(facts && commandHasWords(facts, ["den", "hostagent", "vm"])).toBe(true);
    // /proc/stat's btime is whole seconds and ps's lstart too: the start time is exact to about a second.
    expect(facts?.startedAtMs).toBeGreaterThan(before - 2000);
    expect(facts?.startedAtMs).toBeLessThanOrEqual(Date.now());
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
});

test.each([
  { name: "adjacent argv words", facts: { argv: ["a", "b", "c"] }, words: ["b", "c"], want: true },
  { name: "argv words apart", facts: { argv: ["a", "b", "c"] }, words: ["a", "c"], want: false },
  { name: "part of an argv word", facts: { argv: ["a", "bc"] }, words: ["b"], want: false },
  { name: "words in a command string", facts: { command: "/bin/den hostagent vm" }, words: ["hostagent", "vm"], want: true },
  { name: "a prefix of a word in a command string", facts: { command: "/bin/den hostagent vm2" }, words: ["hostagent", "vm"], want: false },
  { name: "no command line", facts: {}, words: ["x"], want: false },
])("commandHasWords() with $name is $want", ({ facts, words, want }) => {
  expect(commandHasWords(facts, words)).toBe(want);
});

test.each([
  { text: "123 (qemu-system-x86) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4567 99 0\n", want: 4567 },
  { text: "123 (a) b) (c) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 89 99 0\n", want: 89 },
  { text: "123 (short) S 1 2", want: undefined },
])("parseProcStatStartTicks() reads field 22 of $text", ({ text, want }) => {
  expect(parseProcStatStartTicks(text)).toBe(want);
});

test("parseBootTime() reads the btime line of /proc/stat", () => {
  expect(parseBootTime("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n")).toBe(1700000000);
  expect(parseBootTime("cpu  1 2 3\n")).toBeUndefined();
});

test.each([
  {
    text: "Mon Jan  6 12:34:56 2025     /opt/homebrew/bin/qemu-system-aarch64 -pidfile /Users/a/.den/vm/qemu.pid\n",
    want: { command: "/opt/homebrew/bin/qemu-system-aarch64 -pidfile /Users/a/.den/vm/qemu.pid", startedAtMs: new Date(2025, 0, 6, 12, 34, 56).getTime() },
  },
  { text: "Tue Dec 31 23:59:01 2024 den hostagent vm", want: { command: "den hostagent vm", startedAtMs: new Date(2024, 11, 31, 23, 59, 1).getTime() } },
  { text: "", want: undefined },
  { text: "Mon Foo  6 12:34:56 2025 x", want: undefined },
])("parsePsLine() reads $text", ({ text, want }) => {
  expect(parsePsLine(text)).toEqual(want);
});

/** A spawned child shows the parent's command line until its exec has happened; on a loaded machine that takes a while. */
async function untilExeced(pid: number, words: string[]): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await Bun.sleep(10)) {
    const facts = await defaultProcessReader(pid);
    if (facts && commandHasWords(facts, words)) return;
  }
  throw new Error(`process ${pid} never showed ${words.join(" ")}`);
}
