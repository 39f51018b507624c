// Runs one command in its own process group with a time limit, a memory limit and capped output, so a den that
// hangs, balloons or floods its output is stopped and reported instead of taking the test (or the machine) down.
import { readFileSync } from "node:fs";

export interface BoundedRunOptions {
  cwd: string;
  env: Record<string, string>;
  /** Bytes fed on stdin, then closed; undefined: stdin is /dev/null. */
  stdin?: Uint8Array | undefined;
  timeoutMs: number;
  /** Resident memory of the main process above which the whole group is killed. */
  maxRssBytes: number;
  /** Bytes kept of stdout and of stderr each; the rest is read and counted but dropped. */
  maxOutputBytes: number;
}

export interface BoundedRun {
  exitCode: number | null;
  /** The signal that ended the process, when one did (SIGKILL for the limits below). */
  signal: string | null;
  /** Set when the run was ended for breaking a limit. */
  killedFor: "timeout" | "memory" | undefined;
  /** Processes of the group still alive after the main one exited (they were killed). */
  leftBehind: boolean;
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
  peakRssBytes: number;
  durationMs: number;
}

export async function runBounded(argv: readonly string[], options: BoundedRunOptions): Promise<BoundedRun> {
  const started = performance.now();
  const child = Bun.spawn([...argv], {
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
    // Its own process group, so the limits below reach anything it started too.
    detached: true,
  });
  const pid = child.pid;
  let killedFor: BoundedRun["killedFor"];
  let peakRssBytes = 0;
  const timer = setTimeout(() => {
    killedFor ??= "timeout";
    killGroup(pid);
  }, options.timeoutMs);
  const watcher = setInterval(() => {
    const rss = residentBytes(pid);
    peakRssBytes = Math.max(peakRssBytes, rss);
    if (rss > options.maxRssBytes) {
      killedFor ??= "memory";
      killGroup(pid);
    }
  }, 100);
  try {
    const [stdout, stderr] = await Promise.all([readCapped(child.stdout, options.maxOutputBytes), readCapped(child.stderr, options.maxOutputBytes), child.exited]);
    const leftBehind = groupAlive(pid);
    if (leftBehind) killGroup(pid);
    return {
      exitCode: child.exitCode,
      signal: child.signalCode === null ? null : String(child.signalCode),
      killedFor,
      leftBehind,
      stdout: stdout.text,
      stderr: stderr.text,
      stdoutBytes: stdout.bytes,
      stderrBytes: stderr.bytes,
      peakRssBytes,
      durationMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
    clearInterval(watcher);
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<{ text: string; bytes: number }> {
  const kept: Uint8Array[] = [];
  let keptBytes = 0;
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += chunk.byteLength;
    if (keptBytes < cap) {
      const part = chunk.subarray(0, cap - keptBytes);
      kept.push(part);
      keptBytes += part.byteLength;
    }
  }
  return { text: new TextDecoder().decode(Buffer.concat(kept)), bytes };
}
