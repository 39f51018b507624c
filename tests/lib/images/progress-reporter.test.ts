import { expect, test } from "bun:test";
import type { DownloadEvent } from "../../../lib/images/download-event.ts";
import { createProgressReporter } from "../../../lib/images/progress-reporter.ts";

const MiB = 1024 * 1024;
const url = "http://h/disk.qcow2";
const label = "image (disk.qcow2)";

/** Runs `events` (each with the clock time it happens at) through a reporter and returns what it wrote. */
function run(events: [number, DownloadEvent][], terminal: boolean): { lines: string[]; raw: string[] } {
  let clock = 0;
  const lines: string[] = [];
  const raw: string[] = [];
  const report = createProgressReporter({
    line: (text) => lines.push(text),
    terminal: terminal ? { write: (text) => raw.push(text), columns: () => 100 } : undefined,
    now: () => clock,
    lineIntervalMs: 5_000,
  });
  for (const [at, event] of events) {
    clock = at;
    report(event);
  }
  return { lines, raw };
}

const transfer: [number, DownloadEvent][] = [
  [0, { kind: "start", label, url, offset: 0, totalBytes: 100 * MiB }],
  [50, { kind: "data", receivedBytes: 1 * MiB, totalBytes: 100 * MiB }],
  [1_000, { kind: "data", receivedBytes: 10 * MiB, totalBytes: 100 * MiB }],
  [6_000, { kind: "data", receivedBytes: 60 * MiB, totalBytes: 100 * MiB }],
  [10_000, { kind: "done", receivedBytes: 100 * MiB }],
];

test("createProgressReporter() writes a line every few seconds when the output is not a terminal", () => {
  expect(run(transfer, false)).toEqual({
    lines: [
      `Downloading ${label} from ${url}`,
      `Downloading ${label}: 60% (60.0 MiB/100.0 MiB, 10.0 MiB/s, ETA 4s)`,
      `Downloaded ${label}: 100.0 MiB in 10.0s (10.0 MiB/s)`,
    ],
    raw: [],
  });
});

test("createProgressReporter() redraws a bar in place on a terminal, at most every 100 ms, and clears it at the end", () => {
  const { lines, raw } = run(transfer, true);
  expect(lines).toEqual([`Downloading ${label} from ${url}`, `Downloaded ${label}: 100.0 MiB in 10.0s (10.0 MiB/s)`]);
  // The start, the data at 1 s and 6 s (the one at 50 ms is too soon), then the clearing.
  expect(raw).toHaveLength(4);
  expect(raw[2]).toBe(`\r\x1b[Kimage (disk.qcow2) [#####################---------------]  60% 60.0 MiB/100.0 MiB 10.0 MiB/s ETA 4s`);
  expect(raw.at(-1)).toBe("\r\x1b[K");
});

test.each([
  { name: "a resumed start", event: { kind: "start", label, url, offset: 40 * MiB, totalBytes: 100 * MiB }, want: `Downloading ${label} from ${url} (resuming after 40.0 MiB)` },
  { name: "a cache hit", event: { kind: "cached", label, url }, want: `Using cached ${label} (${url})` },
  { name: "waiting for another process", event: { kind: "waiting", label }, want: `Waiting for another den process that is downloading ${label}` },
  { name: "a retry", event: { kind: "retry", label, attempt: 2, reason: "HTTP 503", delayMs: 2_000 }, want: `Download of ${label} interrupted (HTTP 503); retrying in 2s (attempt 2)` },
  { name: "a warning without a warn callback", event: { kind: "warning", message: "offline" }, want: "offline" },
] as { name: string; event: DownloadEvent; want: string }[])("createProgressReporter() reports $name", ({ event, want }) => {
  expect(run([[0, event]], false).lines).toEqual([want]);
});

test("createProgressReporter() gives warnings to the warn callback, not as a progress line", () => {
  const lines: string[] = [];
  const warnings: string[] = [];
  const report = createProgressReporter({ line: (text) => lines.push(text), warn: (text) => warnings.push(text) });
  report({ kind: "warning", message: "offline" });
  expect({ lines, warnings }).toEqual({ lines: [], warnings: ["offline"] });
});
