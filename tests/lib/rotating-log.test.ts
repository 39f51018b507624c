import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rotatingLog } from "../../lib/rotating-log.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function logFile(flags: number | string): Promise<{ path: string; fd: number }> {
  const dir = await mkdtemp(join(tmpdir(), "den-rotate-"));
  const path = join(dir, "ha.stderr.log");
  const fd = openSync(path, flags);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => closeSync(fd));
  return { path, fd };
}

const openModes = [
  { name: "opened O_APPEND", flags: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND },
  { name: "opened without O_APPEND", flags: "w" },
];

test.each(openModes)("rotatingLog() moves the file to .1 and starts it again past the size ($name)", async ({ flags }) => {
  const { path, fd } = await logFile(flags);
  const log = rotatingLog(fd, { path, maxBytes: 120 });
  const line = (i: number) => `line ${String(i).padStart(3, "0")} ${"x".repeat(20)}\n`;
  for (let i = 0; i < 4; i++) log.write(line(i));
  expect(existsSync(`${path}.1`)).toBe(false);
  log.write(line(4));
  expect(readFileSync(`${path}.1`, "utf8")).toBe([0, 1, 2, 3].map(line).join(""));
  expect(readFileSync(path, "utf8")).toBe(line(4));
  for (let i = 5; i < 9; i++) log.write(line(i));
  expect(readFileSync(`${path}.1`, "utf8")).toBe([4, 5, 6, 7].map(line).join(""));
  expect(readFileSync(path, "utf8")).toBe(line(8));
});

test.each(openModes)("rotatingLog() keeps every file under the size through many rotations, without NUL bytes ($name)", async ({ flags }) => {
  const { path, fd } = await logFile(flags);
  const log = rotatingLog(fd, { path, maxBytes: 4096 });
  for (let i = 0; i < 2000; i++) log.write(`event ${i}\n`);
  for (const file of [path, `${path}.1`]) {
    expect(statSync(file).size).toBeLessThanOrEqual(4096);
    expect(readFileSync(file, "utf8")).not.toContain("\0");
  }
  expect(readFileSync(path, "utf8").trimEnd().split("\n").at(-1)).toBe("event 1999");
});

test("rotatingLog() counts what others append to the same file", async () => {
  const { path, fd } = await logFile(constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND);
  const log = rotatingLog(fd, { path, maxBytes: 100 });
  log.write("mine\n");
  const qemu = openSync(path, "a");
  writeSync(qemu, `${"q".repeat(94)}\n`);
  closeSync(qemu);
  log.write("next\n");
  expect(readFileSync(`${path}.1`, "utf8")).toBe(`mine\n${"q".repeat(94)}\n`);
  expect(readFileSync(path, "utf8")).toBe("next\n");
});

test("rotatingLog() writes to a descriptor that is not the named file without touching the file", async () => {
  const { path } = await logFile("w");
  const devNull = openSync("/dev/null", "w");
  cleanups.push(() => closeSync(devNull));
  const log = rotatingLog(devNull, { path, maxBytes: 10 });
  for (let i = 0; i < 10; i++) log.write("a line longer than ten bytes\n");
  expect(existsSync(`${path}.1`)).toBe(false);
  expect(readFileSync(path, "utf8")).toBe("");
});
