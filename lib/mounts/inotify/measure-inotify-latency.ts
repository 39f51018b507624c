// Measures mountInotify end to end: write a file on the host, time until `inotifywait` in the guest prints an
// event for it. The guest's output travels back to the host over the same kind of channel the test uses (den
// shell), so each sample is an upper bound of host write → guest event. Used by the mounts e2e test and bench.
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readUntil } from "../../text/read-until.ts";
import { streamLines } from "../../text/stream-lines.ts";

export interface LatencyFolders {
  /** A folder inside a shared location on the host… */
  host: string;
  /** …and the same folder as the guest sees it. */
  guest: string;
}

export interface MeasureInotifyLatencyOptions {
  /** Runs a command in the guest with stdout and stderr piped (e.g. through `den shell`). */
  spawnInGuest(argv: string[]): Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Samples to take; half create a new file, half append to an existing one. */
  samples?: number;
  /** Pause between samples, so each one is measured on its own rather than as part of a burst. */
  gapMs?: number;
  /** A sample with no event after this long counts as missed. */
  timeoutMs?: number;
}

export interface InotifyLatency {
  /** Milliseconds per received sample, in the order taken. */
  samplesMs: number[];
  p50Ms: number;
  p99Ms: number;
  /** Writes for which no guest event arrived in time. */
  missed: number;
}

export async function measureInotifyLatency(folders: LatencyFolders, options: MeasureInotifyLatencyOptions): Promise<InotifyLatency> {
  const samples = options.samples ?? 20;
  const gapMs = options.gapMs ?? 300;
  const timeoutMs = options.timeoutMs ?? 3000;
  const child = options.spawnInGuest(["inotifywait", "-m", "-r", "--format", "%w%f %e", folders.guest]);
  const lines = new LineWaiter();
  void (async () => {
    for await (const line of streamLines(child.stdout)) lines.push(line);
  })();
  try {
    await waitForBanner(child.stderr, timeoutMs * 10);
    const samplesMs: number[] = [];
    let missed = 0;
    await writeFile(join(folders.host, "latency-modify"), "0\n");
    await Bun.sleep(gapMs);
    for (let i = 0; i < samples; i++) {
      const create = i % 2 === 0;
      const name = create ? `latency-create-${i}` : "latency-modify";
      const guestPath = join(folders.guest, name);
      lines.clear();
      const started = performance.now();
      if (create) await writeFile(join(folders.host, name), `${i}\n`);
      else await appendFile(join(folders.host, name), `${i}\n`);
      const seen = await lines.waitFor((line) => line.startsWith(`${guestPath} `), timeoutMs);
      if (seen) samplesMs.push(performance.now() - started);
      else missed++;
      await Bun.sleep(gapMs);
    }
    return { samplesMs, p50Ms: percentile(samplesMs, 0.5), p99Ms: percentile(samplesMs, 0.99), missed };
  } finally {
    child.kill();
    await child.exited;
  }
}

/** The nearest-rank percentile; NaN for no samples (pure). */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] as number;
}

class LineWaiter {
  #lines: string[] = [];
  #wake: (() => void) | undefined;

  push(line: string): void {
    this.#lines.push(line);
    this.#wake?.();
  }

  clear(): void {
    this.#lines = [];
  }

  async waitFor(predicate: (line: string) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#lines.some(predicate)) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

async function waitForBanner(stderr: ReadableStream<Uint8Array>, timeoutMs: number): Promise<void> {
  const text = await readUntil(stderr, "Watches established", { timeoutMs });
  if (!text.includes("Watches established")) throw new Error(`inotifywait did not start in the guest: ${text.trim() || "no output"}`);
}
