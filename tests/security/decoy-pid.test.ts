// Issue 12 #4: den signals a PID from ha.pid or qemu.pid only when it is the process den started there (the right
// command line, started before the file was written). A PID file naming an unrelated live process, or one left from
// before a reboot whose PID was reused, is stale: the process is never signalled, and the instance reads as Stopped.
// Each case runs the real CLI; the timeouts are for loaded machines, where one den run can take seconds.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { type LiveProcess, makeInstance, ownerProcess, writePid } from "../lib/store/support/fake-instance.ts";
import { makeDenHome, runDen } from "../lib/cli/support/run-den.ts";

const children: LiveProcess[] = [];
afterAll(async () => {
  for (const child of children) await child.kill();
});

interface Watched {
  pid: number;
  /** True once the process has exited, false if it is still alive after `ms`. */
  exitsWithin(ms: number): Promise<boolean>;
}

function watch(process: LiveProcess): Watched {
  children.push(process);
  return { pid: process.pid, exitsWithin: (ms) => Promise.race([process.exited.then(() => true), Bun.sleep(ms).then(() => false)]) };
}

/** An unrelated process: `sleep 60`, as any PID on the machine may be. */
function unrelated(): Watched {
  const child = Bun.spawn(["sleep", "60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const kill = async (): Promise<void> => {
    child.kill("SIGKILL");
    await child.exited;
  };
  return watch({ pid: child.pid, exited: child.exited, kill, [Symbol.asyncDispose]: kill });
}

/** A process whose command line is what den gives the host agent (ha.pid) or QEMU (qemu.pid) of `dir`. */
function lookalike(dir: string, file: string): Watched {
  return watch(ownerProcess(dir, file));
}

async function instance(): Promise<{ denHome: string; dir: string }> {
  const denHome = await makeDenHome();
  return { denHome, dir: await makeInstance(denHome, "vm") };
}

async function pidFiles(dir: string, ha: Watched, qemu: Watched, options: { writtenAt?: Date } = {}): Promise<void> {
  await writePid(dir, "ha.pid", ha.pid);
  await writePid(dir, "qemu.pid", qemu.pid);
  if (options.writtenAt) {
    for (const file of ["ha.pid", "qemu.pid"]) await utimes(join(dir, file), options.writtenAt, options.writtenAt);
  }
}

describe("a PID file naming an unrelated live process", () => {
  test("leaves the instance Stopped in den list", async () => {
    const { denHome, dir } = await instance();
    const decoy = unrelated();
    await pidFiles(dir, decoy, decoy);
    const run = await runDen(["list", "--json", "vm"], { denHome });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "Stopped" });
    expect(await decoy.exitsWithin(100)).toBe(false);
  }, 30_000);

  test.each([["stop", "vm"], ["stop", "-f", "vm"], ["delete", "-f", "vm"], ["restart", "-f", "vm", "--timeout", "1s"]].map((args) => ({ label: args.join(" "), args })))(
    "den $label never signals it",
    async ({ args }) => {
      const { denHome, dir } = await instance();
      const ha = unrelated();
      const qemu = unrelated();
      await pidFiles(dir, ha, qemu);
      const run = await runDen(args, { denHome });
      const outcome = {
        exitCode: args[0] === "restart" ? "any" : run.exitCode,
        stderr: run.stderr.includes("bug in den") ? run.stderr : "clean",
        haKilled: await ha.exitsWithin(300),
        qemuKilled: await qemu.exitsWithin(0),
        // The stale files are gone; what den deletes goes with the folder.
        pidFiles: ["ha.pid", "qemu.pid"].filter((file) => existsSync(join(dir, file))),
      };
      expect(outcome).toEqual({ exitCode: args[0] === "restart" ? "any" : 0, stderr: "clean", haKilled: false, qemuKilled: false, pidFiles: [] });
    },
    30_000,
  );
});

describe("a PID file older than the process it names (left from before a reboot)", () => {
  test.each([{ label: "stop -f vm", args: ["stop", "-f", "vm"] }, { label: "delete -f vm", args: ["delete", "-f", "vm"] }])("den $label never signals the process", async ({ args }) => {
    const { denHome, dir } = await instance();
    const ha = lookalike(dir, "ha.pid");
    const qemu = lookalike(dir, "qemu.pid");
    await pidFiles(dir, ha, qemu, { writtenAt: new Date(Date.now() - 3600_000) });
    const run = await runDen(args, { denHome });
    expect(run.exitCode).toBe(0);
    expect(await ha.exitsWithin(300)).toBe(false);
    expect(await qemu.exitsWithin(0)).toBe(false);
  }, 30_000);
});

describe("a PID file naming the process den started", () => {
  test.each([{ label: "stop -f vm", args: ["stop", "-f", "vm"] }, { label: "delete -f vm", args: ["delete", "-f", "vm"] }])("den $label kills it", async ({ args }) => {
    const { denHome, dir } = await instance();
    const ha = lookalike(dir, "ha.pid");
    const qemu = lookalike(dir, "qemu.pid");
    await pidFiles(dir, ha, qemu);
    const run = await runDen(args, { denHome });
    expect(run.exitCode).toBe(0);
    expect(run.stderr).not.toContain("already stopped");
    expect(await ha.exitsWithin(5000)).toBe(true);
    expect(await qemu.exitsWithin(5000)).toBe(true);
    expect(existsSync(args[0] === "delete" ? dir : join(dir, "ha.pid"))).toBe(false);
  }, 30_000);
});
