// Instance folders with fake PID files, for the status, stop and delete tests: a live PID is a `sleep` child of
// the test, a dead PID is a child that has already been reaped.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const MinimalYaml = "images:\n- location: /nonexistent/den-test.img\n";

export async function makeHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), "den-st-"));
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
  kill(): Promise<void>;
}

/** A `sleep` child that lives until killed (or the test ends). */
export function liveProcess(): LiveProcess {
  const child = Bun.spawn(["sleep", "300"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const kill = async (): Promise<void> => {
    child.kill("SIGKILL");
    await child.exited;
  };
  return { pid: child.pid, kill, [Symbol.asyncDispose]: kill };
}

/** The PID of a process that has exited and been reaped. */
export function deadPid(): number {
  return Bun.spawnSync(["true"]).pid;
}

export async function writePid(dir: string, file: string, pid: number): Promise<void> {
  await writeFile(join(dir, file), `${pid}\n`);
}
