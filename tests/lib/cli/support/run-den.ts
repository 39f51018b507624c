// Runs den from source as a user would, with its own DEN_HOME, for the command tests.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const mainTs = join(import.meta.dir, "../../../../main.ts");

export interface DenRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function makeDenHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), "den-cli-"));
}

export async function runDen(args: readonly string[], options: { denHome: string; stdin?: string; cwd?: string; env?: Record<string, string> }): Promise<DenRun> {
  const child = Bun.spawn([process.execPath, mainTs, ...args], {
    cwd: options.cwd ?? options.denHome,
    env: { ...process.env, DEN_HOME: options.denHome, DEN_TEMPLATES_PATH: "", ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { exitCode, stdout, stderr };
}
