// Runs a short-lived program to completion and returns what it printed: version probes, sysctl, cp, qemu-img.
// Long-running children (QEMU, virtiofsd, the host agent) are spawned where they are supervised, not here.
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { basename } from "node:path";
import type { Readable, Writable } from "node:stream";
import { DenError } from "../errors.ts";

export interface RunOptions {
  /** Aborting kills the child, waits for it, and rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Kills the child after this long and rejects with COMMAND_TIMEOUT. */
  timeoutMs?: number | undefined;
  /** Written to the child's stdin, which is then closed; without it the child reads end-of-file at once. */
  stdin?: string | Uint8Array | undefined;
  /** The child's whole environment (not merged with den's); den's own when absent. */
  env?: Record<string, string | undefined> | undefined;
  cwd?: string | undefined;
  /** Stdout beyond this many bytes kills the child and rejects with FILE_TOO_LARGE; 1 MiB by default. */
  maxStdoutBytes?: number | undefined;
  /** How much of the end of stderr to keep; 16 KiB by default. */
  stderrTailBytes?: number | undefined;
}

export interface RunResult {
  /** The exit status, or null when a signal ended the child. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last `stderrTailBytes` of stderr: where programs put the reason they failed. */
  stderrTail: string;
}

const DefaultMaxStdoutBytes = 1024 * 1024;
const DefaultStderrTailBytes = 16 * 1024;

/**
 * Runs `argv` (no shell) and resolves with its exit status and output, whatever the status: the caller decides
 * what a non-zero code means. Rejects when the program cannot be started (HOST_TOOL_MISSING when it does not
 * exist, else IO), on timeout, on abort, or when stdout is over its limit; in each of those the child is killed
 * with SIGKILL and waited for before the promise settles.
 */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.reject(new DenError("INTERNAL", "Cannot run a command: the argument list is empty"));
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  const maxStdout = options.maxStdoutBytes ?? DefaultMaxStdoutBytes;
  const tailBytes = options.stderrTailBytes ?? DefaultStderrTailBytes;
  return new Promise((resolve, reject) => {
    let child: ChildProcessByStdio<Writable, Readable, Readable>;
    try {
      child = spawn(command, args, {
        stdio: ["pipe", "pipe", "pipe"],
        ...(options.env && { env: options.env }),
        ...(options.cwd !== undefined && { cwd: options.cwd }),
      });
    } catch (error) {
      // Bun reports some failures (ENOEXEC: not a program) at once rather than through "error".
      return reject(cannotStart(argv, error as NodeJS.ErrnoException));
    }
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = Buffer.alloc(0);
    // Set once the call has failed (timeout, abort, too much output): the child is then killed and only its end awaited.
    let failure: { error: unknown } | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const fail = (error: unknown): void => {
      if (failure) return;
      failure = { error };
      // SIGKILL: the caller has given up on the result, and a child that ignored SIGTERM would keep this call open.
      child.kill("SIGKILL");
      // A grandchild may hold the pipes open after the child dies; the call ends with the child, not with it.
      const closePipes = (): void => {
        child.stdout.destroy();
        child.stderr.destroy();
      };
      if (child.exitCode !== null || child.signalCode !== null) closePipes();
      else child.once("exit", closePipes);
    };
    const onAbort = (): void => fail(options.signal?.reason);
    const finish = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };

    child.stdout.on("data", (chunk: Buffer) => {
      if (failure) return;
      stdoutBytes += chunk.byteLength;
      if (stdoutBytes > maxStdout) {
        return fail(new DenError("FILE_TOO_LARGE", `Cannot run "${command}": it printed more than ${maxStdout} bytes`, {
          hint: "the program printed far more than expected; run it by hand to see why",
          details: { argv: [...argv], maxStdoutBytes: maxStdout },
        }));
      }
      stdout.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      const joined = Buffer.concat([stderr, chunk]);
      stderr = joined.byteLength > tailBytes ? joined.subarray(joined.byteLength - tailBytes) : joined;
    });
    child.stdin.on("error", () => {
      // A child that exits without reading its input closes the pipe (EPIPE); its exit status tells the rest.
    });
    child.stdin.end(options.stdin);

    child.once("error", (error: NodeJS.ErrnoException) => {
      // Only a failed spawn leaves no process to wait for; a failed kill of a live child still ends in "close".
      if (child.pid !== undefined) return;
      finish();
      reject(cannotStart(argv, error));
    });
    child.once("close", (code, signal) => {
      // Bun also closes a child that never started (with a negative errno as its code); "error" has settled that.
      if (child.pid === undefined) return;
      finish();
      if (failure) return reject(failure.error);
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString("utf8"), stderrTail: decodeTail(stderr) });
    });

    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      timer = setTimeout(() => {
        fail(new DenError("COMMAND_TIMEOUT", `Cannot run "${command}": it did not finish within ${timeoutMs} ms and was killed`, {
          hint: "the program may be hung; run it by hand to see where it waits",
          details: { argv: [...argv], timeoutMs },
        }));
      }, timeoutMs);
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function cannotStart(argv: readonly string[], error: NodeJS.ErrnoException): DenError {
  const command = argv[0] ?? "";
  const details = { argv: [...argv] };
  if (error.code === "ENOENT") {
    const message = command.includes("/") ? `Cannot run "${command}": no such executable` : `Cannot find "${command}" in PATH`;
    return new DenError("HOST_TOOL_MISSING", message, { cause: error, hint: `install ${basename(command)}, or check PATH`, details });
  }
  return new DenError("IO", `Cannot run "${command}": ${error.code ?? error.message}`, { cause: error, hint: `check that "${command}" is a program you may run`, details });
}

/** Stderr's kept end as text; a cut through a multi-byte character at its start is dropped, not shown as U+FFFD. */
function decodeTail(bytes: Buffer): string {
  let start = 0;
  // UTF-8 continuation bytes are 10xxxxxx; a character starts at the first byte that is not one.
  while (start < bytes.byteLength && start < 3 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString("utf8");
}
