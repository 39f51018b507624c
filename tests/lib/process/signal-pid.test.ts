import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { caughtDenError } from "../../support/caught-den-error.ts";
import { signalPid } from "../../../lib/process/signal-pid.ts";

const signalPidModule = resolve(import.meta.dir, "../../../lib/process/signal-pid.ts");
const errorsModule = resolve(import.meta.dir, "../../../lib/errors.ts");

function gonePid(): number {
  return Bun.spawnSync(["true"]).pid;
}

describe("signalPid()", () => {
  test("signalPid() delivers the signal and returns true", async () => {
    const child = Bun.spawn(["sleep", "30"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    expect(signalPid(child.pid, "SIGTERM")).toBe(true);
    expect(await child.exited).toBe(143);
    expect(child.signalCode).toBe("SIGTERM");
  });

  test("signalPid() returns false for a process that is already gone", () => {
    expect(signalPid(gonePid(), "SIGKILL")).toBe(false);
  });

  test.each([{ pid: 0 }, { pid: -1 }, { pid: 1.5 }, { pid: Number.NaN }])("signalPid() refuses $pid, which is not one process", ({ pid }) => {
    expect(() => signalPid(pid, "SIGKILL")).toThrow(expect.objectContaining({ code: "INTERNAL", message: `Cannot signal process ${pid}: it is not a process ID` }));
  });

  test("signalPid() turns EPERM into a DenError naming whose process it is", async () => {
    // PID 1 is root's: an ordinary user may not signal it. The child drops to "nobody" first when the tests run as
    // root, so it loads a copy of the module from a folder "nobody" can read (a clone under /root is not). Signal 0
    // delivers nothing, and unlike SIGCONT it is not let through for a process in the same session.
    const copy = mkdtempSync(join(tmpdir(), "den-signal-pid-"));
    try {
      mkdirSync(join(copy, "lib/process"), { recursive: true });
      copyFileSync(signalPidModule, join(copy, "lib/process/signal-pid.ts"));
      copyFileSync(errorsModule, join(copy, "lib/errors.ts"));
      chmodSync(copy, 0o755);
      const script = `
        if (process.getuid() === 0) { process.setgid(65534); process.setuid(65534); }
        const { signalPid } = await import(${JSON.stringify(join(copy, "lib/process/signal-pid.ts"))});
        try { signalPid(1, 0, { of: 'instance "default"' }); console.log("delivered"); }
        catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message, hint: error.hint, details: error.details })); }`;
      const child = Bun.spawn([process.execPath, "-e", script], { cwd: copy, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      expect({ stdout, stderr }).toEqual({ stdout: expect.stringMatching(/^\{/), stderr: "" });
      expect(JSON.parse(stdout)).toEqual({
        name: "DenError",
        code: "IO",
        message: 'Cannot signal process 1 of instance "default": kill() failed: EPERM: Operation not permitted',
        hint: "the process belongs to another user; stop it as that user",
        details: { pid: 1, signal: 0 },
      });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("signalPid() wraps a failure other than ESRCH in a DenError with its cause", () => {
    const error = caughtDenError(() => signalPid(process.pid, "SIGNOPE" as NodeJS.Signals));
    expect(error).toMatchObject({ code: "IO", message: `Cannot signal process ${process.pid}: Unknown signal: SIGNOPE`, hint: undefined });
    expect(error.cause).toBeInstanceOf(TypeError);
  });
});
