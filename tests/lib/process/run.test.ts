import { describe, expect, test } from "bun:test";
import { getEventListeners } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../../../lib/process/run.ts";
import { signalPid } from "../../../lib/process/signal-pid.ts";
import { rejectedDenError, rejectedError } from "../../support/caught-den-error.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A shell that records its PID in a file, then waits: the test can check the process is gone afterwards. */
async function sleeper(): Promise<{ argv: string[]; pid: () => Promise<number> }> {
  const dir = await makeTempDir("den-run-");
  const pidFile = join(dir, "pid");
  return {
    argv: ["sh", "-c", `echo $$ > "${pidFile}"; exec sleep 30`],
    pid: async () => Number((await readFile(pidFile, "utf8")).trim()),
  };
}

describe("run()", () => {
  test.each([
    { what: "success", argv: ["sh", "-c", "printf out; printf err >&2"], result: { code: 0, signal: null, stdout: "out", stderrTail: "err" } },
    { what: "a non-zero exit", argv: ["sh", "-c", "echo why >&2; exit 3"], result: { code: 3, signal: null, stdout: "", stderrTail: "why\n" } },
    { what: "death by a signal", argv: ["sh", "-c", "kill -TERM $$"], result: { code: null, signal: "SIGTERM", stdout: "", stderrTail: "" } },
  ])("run() resolves with the exit status and output on $what", async ({ argv, result }) => {
    expect(await run(argv)).toEqual(result);
  });

  test("run() passes stdin, env and cwd to the child", async () => {
    const dir = await makeTempDir("den-run-");
    const result = await run(["sh", "-c", 'read line; echo "$line $GREETING $(pwd)"'], { stdin: "hello\n", env: { GREETING: "world", PATH: process.env.PATH }, cwd: dir });
    expect(result.stdout).toBe(`hello world ${dir}\n`);
  });

  test("run() keeps only the end of stderr", async () => {
    const result = await run(["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); done"], { stderrTailBytes: 100 });
    expect(result.code).toBe(0);
    expect(Buffer.byteLength(result.stderrTail)).toBeLessThanOrEqual(100);
    expect(result.stderrTail).toEndWith("line1998\nline1999\n");
  });

  test("run() drops a multi-byte character cut at the start of the stderr tail", async () => {
    // "ééé" is six bytes: a five-byte tail starts in the middle of the first "é", whose half is dropped.
    const result = await run(["sh", "-c", "printf 'ééé' >&2"], { stderrTailBytes: 5 });
    expect(result.stderrTail).toBe("éé");
  });

  test("run() kills the child and rejects with FILE_TOO_LARGE when stdout is over its limit", async () => {
    const error = await rejectedDenError(run(["sh", "-c", "while :; do echo xxxxxxxxxxxxxxxx; done"], { maxStdoutBytes: 4096 }));
    expect(error)
.toMatchObject({ code: "FILE_TOO_LARGE", message: 'Cannot run "sh": it printed more than 4096 bytes' });
  });

  test.each([
    { argv: ["/nonexistent/den-tool", "--version"], message: 'Cannot run "/nonexistent/den-tool": no such executable' },
    { argv: ["den-tool-nowhere"], message: 'Cannot find "den-tool-nowhere" in PATH' },
  ])("run() rejects with HOST_TOOL_MISSING for $argv.0, which does not exist", async ({ argv, message }) => {
    const error = await rejectedDenError(run(argv));
    expect(error).toMatchObject({ code: "HOST_TOOL_MISSING", message, hint: `install ${argv[0]?.split("/").at(-1)}, or check PATH` });
  });

  test.each([
    { what: "a file without execute permission", mode: 0o644, errno: "EACCES" },
    { what: "an executable that is no program", mode: 0o755, errno: "ENOEXEC" },
  ])("run() rejects with IO for $what", async ({ mode, errno }) => {
    const path = join(await makeTempDir("den-run-"), "tool");
    await writeFile(path, "\0\0\0\0", { mode });
    const error = await rejectedDenError(run([path]));
    expect(error).toMatchObject({ code: "IO", message: `Cannot run "${path}": ${errno}` });
  });

  test("run() kills the child on timeout, waits for it, and rejects with COMMAND_TIMEOUT", async () => {
    const { argv, pid } = await sleeper();
    const started = performance.now();
    const error = await rejectedDenError(run(argv, { timeoutMs: 200 }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: "COMMAND_TIMEOUT", message: 'Cannot run "sh": it did not finish within 200 ms and was killed' });
    expect(isAlive(await pid())).toBe(false);
  });

  test("run() kills the child on abort, waits for it, rejects with the reason and removes its listener", async () => {
    const { argv, pid } = await sleeper();
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const running = run(argv, { signal: controller.signal });
    // Abort only once the shell has written its PID, so the kill lands on a started child.
    for (let i = 0; i < 100 && !(await pid().catch(() => 0)); i++) await Bun.sleep(10);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort(reason);
    expect(await rejectedError(running, Error)).toBe(reason);
    expect(isAlive(await pid())).toBe(false);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  test("run() with a signal already aborted rejects without starting anything", async () => {
    const controller = new AbortController();
    controller.abort(new Error("too late"));
    await expect(run(["/nonexistent/den-tool"], { signal: controller.signal })).rejects.toThrow("too late");
  });

  test("run() leaves no abort listener after a normal exit", async () => {
    const controller = new AbortController();
    await run(["true"], { signal: controller.signal, timeoutMs: 10_000 });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  test("run() ends at the timeout even when a grandchild keeps the pipes open", async () => {
    const dir = await makeTempDir("den-run-");
    const pidFile = join(dir, "pid");
    const started = performance.now();
    const error = await rejectedDenError(run(["sh", "-c", `sleep 30 & echo $! > "${pidFile}"; wait`], { timeoutMs: 200 }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: "COMMAND_TIMEOUT" });
    signalPid(Number((await readFile(pidFile, "utf8")).trim()), "SIGKILL");
  });

  test("run() refuses an empty argument list", async () => {
    await expect(run([])).rejects.toMatchObject({ code: "INTERNAL" });
  });
});
