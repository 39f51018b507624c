// Instance folders with fake PID files, for the status, stop and delete tests: a live PID is a child of the test
// that blocks in `read` (its command line carries the words den checks before it trusts a PID file), a dead PID is a
// child that has already been reaped.
import { afterAll } from "bun:test";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { makeTempDir } from "../../../support/temp-dir.ts";

export const MinimalYaml = "images:\n- location: /nonexistent/den-test.img\n";

export async function makeHome(): Promise<string> {
  return makeTempDir("den-st-");
}

/** Creates `<home>/<name>` with a den.yaml that loads. */
export async function makeInstance(home: string, name: string, yaml = MinimalYaml): Promise<string> {
  const dir = join(home, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, "den.yaml"), yaml);
  return dir;
}

export interface LiveProcess extends AsyncDisposable {
  pid: number;
  /** Resolves when the process has exited, whoever killed it. */
  exited: Promise<unknown>;
  kill(): Promise<void>;
}

/**
 * A child that lives until killed (or the test ends): `sh -c "read _" den WORDS…`, so WORDS are in its command line.
 * `read` waits on a pipe the test never writes to; the shell has no child of its own to leave behind when killed.
 */
export function liveProcess(words: readonly string[] = []): LiveProcess {
  const child = Bun.spawn(["sh", "-c", "read _", "den", ...words], { stdin: "pipe", stdout: "ignore", stderr: "ignore" });
  waitForExec(child.pid, ["den", ...words]);
  const kill = async (): Promise<void> => {
    child.kill("SIGKILL");
    await child.exited;
  };
  return { pid: child.pid, exited: child.exited, kill, [Symbol.asyncDispose]: kill };
}

/**
 * Registers, in the calling test file (call it at the file's top level), the kill of every process handed to the
 * returned function once the file's tests have run; the function hands the process back.
 */
export function killAfterAll(): (process: LiveProcess) => LiveProcess {
  const spawned: LiveProcess[] = [];
  afterAll(async () => {
    for (const process of spawned) await process.kill();
  });
  return (process) => {
    spawned.push(process);
    return process;
  };
}

/** A live process that passes for the one den starts for `file` in `dir`: the host agent for ha.pid, else QEMU. */
export function ownerProcess(dir: string, file: string): LiveProcess {
  return liveProcess(file === "ha.pid" ? ["hostagent", basename(dir)] : ["-pidfile", join(dir, file)]);
}

/** The PID of a process that has exited and been reaped. */
export function deadPid(): number {
  return Bun.spawnSync(["true"]).pid;
}

export async function writePid(dir: string, file: string, pid: number): Promise<void> {
  await writeFile(join(dir, file), `${pid}\n`);
}

/**
 * Until its exec, a spawned child shows this process's command line, and den's PID check would rightly distrust it;
 * on a loaded machine the exec can lag the spawn by many milliseconds.
 */
function waitForExec(pid: number, words: readonly string[]): void {
  if (process.platform !== "linux") return;
  const want = words.join("\0");
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; Bun.sleepSync(5)) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(want)) return;
    } catch {
      return;
    }
  }
}
