import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { acquireInstanceLock, processStartTime } from "../../../lib/store/instance-lock.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

const lockModule = resolve(import.meta.dir, "../../../lib/store/instance-lock.ts");

async function instanceFolder(): Promise<string> {
  return await makeTempDir("den-lock-");
}

function deadPid(): number {
  return Bun.spawnSync(["true"]).pid;
}

// Each worker takes the lock `rounds` times and logs `+PID` on entry and `-PID` on exit; holding it
// across a sleep gives an intruder the chance to show up between the two lines.
async function runWorkers(dir: string, options: { workers: number; rounds: number }): Promise<string[]> {
  const script = join(dir, "worker.ts");
  const log = join(dir, "log");
  await writeFile(
    script,
    `import { appendFileSync } from "node:fs";
import { acquireInstanceLock } from ${JSON.stringify(lockModule)};
const [dir, log, rounds] = process.argv.slice(2);
for (let i = 0; i < Number(rounds); i++) {
  const lock = await acquireInstanceLock(dir, { timeoutMs: 30000, owner: "worker" });
  appendFileSync(log, "+" + process.pid + "\\n");
  await Bun.sleep(5);
  appendFileSync(log, "-" + process.pid + "\\n");
  await lock.release();
}
`,
  );
  const children = Array.from({ length: options.workers }, () =>
    Bun.spawn([process.execPath, script, dir, log, String(options.rounds)], { stdout: "ignore", stderr: "pipe" }),
  );
  const codes = await Promise.all(children.map((child) => child.exited));
  const stderr = await Promise.all(children.map((child) => new Response(child.stderr).text()));
  expect({ codes, stderr }).toEqual({ codes: codes.map(() => 0), stderr: stderr.map(() => "") });
  return (await readFile(log, "utf8")).trim().split("\n");
}

function expectNoOverlap(lines: string[], total: number): void {
  expect(lines.length).toBe(total * 2);
  for (let i = 0; i < lines.length; i += 2) {
    expect(lines[i]).toStartWith("+");
    expect(lines[i + 1]).toBe(`-${lines[i]?.slice(1)}`);
  }
}

describe("acquireInstanceLock()", () => {
  test("acquireInstanceLock() writes den.lock naming this process and release() removes it", async () => {
    const dir = await instanceFolder();
    const lock = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den start" });
    const record = JSON.parse(await readFile(join(dir, "den.lock"), "utf8"));
    expect(record).toMatchObject({ pid: process.pid, owner: "den start", start: processStartTime(process.pid) });
    await lock.release();
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  test("acquireInstanceLock() is released by await using", async () => {
    const dir = await instanceFolder();
    {
      await using _lock = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den stop" });
      expect(existsSync(join(dir, "den.lock"))).toBe(true);
    }
    expect(existsSync(join(dir, "den.lock"))).toBe(false);
  });

  test("acquireInstanceLock() times out with INSTANCE_LOCKED naming the live holder", async () => {
    const dir = await instanceFolder();
    const held = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den start" });
    const started = Date.now();
    const error = await acquireInstanceLock(dir, { timeoutMs: 150, owner: "den delete" }).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(error).toBeInstanceOf(DenError);
    const denError = error as DenError;
    expect(denError.code).toBe("INSTANCE_LOCKED");
    expect(denError.message).toStartWith(`Cannot lock instance "${dir.split("/").pop()}": process ${process.pid} (den start) has held it since `);
    expect(denError.hint).toBe(`wait for that den command to finish, or stop process ${process.pid} if it is stuck`);
    await held.release();
  });

  test("acquireInstanceLock() gets the lock once the holder releases it", async () => {
    const dir = await instanceFolder();
    const held = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "first" });
    setTimeout(() => void held.release(), 50);
    const second = await acquireInstanceLock(dir, { timeoutMs: 5000, owner: "second" });
    expect(JSON.parse(await readFile(join(dir, "den.lock"), "utf8")).owner).toBe("second");
    await second.release();
  });

  test("acquireInstanceLock() stops waiting when its signal aborts", async () => {
    const dir = await instanceFolder();
    const held = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "first" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("cancelled")), 30);
    const error = await acquireInstanceLock(dir, { timeoutMs: 10_000, owner: "second", signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe("cancelled");
    await held.release();
  });

  test.each([
    { name: "a dead PID", text: () => JSON.stringify({ pid: deadPid(), owner: "den start", time: "2024-01-01T00:00:00Z" }) },
    { name: "a reused PID (same PID, other start time)", text: () => JSON.stringify({ pid: process.pid, start: "1", owner: "den start" }) },
    { name: "unreadable content", text: () => "garbage" },
    { name: "an empty file", text: () => "" },
  ])("acquireInstanceLock() takes over a stale lock with $name", async ({ text }) => {
    const dir = await instanceFolder();
    await writeFile(join(dir, "den.lock"), text());
    const lock = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den start" });
    expect(JSON.parse(await readFile(join(dir, "den.lock"), "utf8")).pid).toBe(process.pid);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  test("acquireInstanceLock() clears a takeover guard left by a dead taker", async () => {
    const dir = await instanceFolder();
    const stale = JSON.stringify({ pid: deadPid() });
    await writeFile(join(dir, "den.lock"), stale);
    const hash = new Bun.CryptoHasher("sha256").update(stale).digest("hex").slice(0, 16);
    await writeFile(join(dir, `den.lock.takeover-${hash}`), JSON.stringify({ pid: deadPid() }));
    const lock = await acquireInstanceLock(dir, { timeoutMs: 2000, owner: "den start" });
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  test("acquireInstanceLock() never lets two processes hold the lock at once", async () => {
    const dir = await instanceFolder();
    expectNoOverlap(await runWorkers(dir, { workers: 4, rounds: 5 }), 20);
    expect((await readdir(dir)).sort()).toEqual(["log", "worker.ts"]);
  }, 30_000);

  test("acquireInstanceLock() lets only one of several racing takers replace a stale lock", async () => {
    const dir = await instanceFolder();
    await writeFile(join(dir, "den.lock"), JSON.stringify({ pid: deadPid() }));
    expectNoOverlap(await runWorkers(dir, { workers: 6, rounds: 2 }), 12);
    expect((await readdir(dir)).sort()).toEqual(["log", "worker.ts"]);
  }, 30_000);
});

test("processStartTime() tells this process from a dead one", () => {
  expect(processStartTime(process.pid)).toBeString();
  expect(processStartTime(deadPid())).toBeUndefined();
});
