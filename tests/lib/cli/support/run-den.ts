// Runs den from source as a user would, with its own DEN_HOME, for the command tests.
import { join } from "node:path";
import { makeTempDir } from "../../../support/temp-dir.ts";

const mainTs = join(import.meta.dir, "../../../../main.ts");

export interface DenRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Wall time of the run. */
  ms: number;
  /** Peak resident memory of den's process, in bytes (0 where the platform does not say). */
  maxRss: number;
  /** Set when den ran past `killAfterMs` and was killed. */
  killed: boolean;
}

export interface RunDenOptions {
  denHome: string;
  /** Text fed on stdin, or a stream piped into it; none: stdin is /dev/null. */
  stdin?: string | ReadableStream<Uint8Array>;
  /** Default: DEN_HOME. */
  cwd?: string;
  /** Added to (or overriding) this process's environment, DEN_HOME and an empty DEN_TEMPLATES_PATH. */
  env?: Record<string, string>;
  /** A command that runs den, such as `setpriv --reuid=…` to run it as another user. */
  prefix?: readonly string[];
  /** Kills den with SIGKILL when it runs longer, so that a hang fails as one instead of as a test timeout. */
  killAfterMs?: number;
}

export async function makeDenHome(): Promise<string> {
  return makeTempDir("den-cli-");
}

export async function runDen(args: readonly string[], options: RunDenOptions): Promise<DenRun> {
  const started = performance.now();
  const child = Bun.spawn([...(options.prefix ?? []), process.execPath, mainTs, ...args], {
    cwd: options.cwd ?? options.denHome,
    env: { ...process.env, DEN_HOME: options.denHome, DEN_TEMPLATES_PATH: "", ...options.env },
    stdin: typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : (options.stdin ?? "ignore"),
    stdout: "pipe",
    stderr: "pipe",
  });
  let killed = false;
  const killer =
    options.killAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          killed = true;
          child.kill("SIGKILL");
        }, options.killAfterMs);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  return { exitCode, stdout, stderr, ms: performance.now() - started, maxRss: child.resourceUsage()?.maxRSS ?? 0, killed };
}
