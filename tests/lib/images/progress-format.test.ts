import { expect, test } from "bun:test";
import { doneLine, formatBytes, formatEta, progressBar, progressLine, type ProgressState, transferRate } from "../../../lib/images/progress-format.ts";

const MiB = 1024 * 1024;

test.each([
  { bytes: 0, want: "0 B" },
  { bytes: 999, want: "999 B" },
  { bytes: 1536, want: "1.5 KiB" },
  { bytes: 120.25 * MiB, want: "120.3 MiB" },
  { bytes: 2 * 1024 * MiB, want: "2.00 GiB" },
  { bytes: 12.5 * 1024 * MiB, want: "12.5 GiB" },
])("formatBytes($bytes) is $want", ({ bytes, want }) => {
  expect(formatBytes(bytes)).toBe(want);
});

test.each([
  { seconds: 0, want: "0s" },
  { seconds: 7.4, want: "7s" },
  { seconds: 65, want: "1m05s" },
  { seconds: 7380, want: "2h03m" },
  { seconds: -3, want: "0s" },
])("formatEta($seconds) is $want", ({ seconds, want }) => {
  expect(formatEta(seconds)).toBe(want);
});

const half: ProgressState = { label: "image (disk.qcow2)", receivedBytes: 50 * MiB, totalBytes: 100 * MiB, resumedFrom: 0, elapsedMs: 10_000 };
const resumed: ProgressState = { ...half, resumedFrom: 40 * MiB };
const unknown: ProgressState = { ...half, totalBytes: undefined };

test.each([
  { name: "bytes over time", state: half, want: 5 * MiB },
  { name: "only the bytes of this transfer after a resume", state: resumed, want: 1 * MiB },
  { name: "nothing at the start", state: { ...half, elapsedMs: 0 }, want: undefined },
])("transferRate() counts $name", ({ state, want }) => {
  expect(transferRate(state)).toBe(want);
});

test.each([
  { name: "a bar with percent, amounts, rate and ETA", state: half, columns: 100, want: "image (disk.qcow2) [##################------------------]  50% 50.0 MiB/100.0 MiB 5.0 MiB/s ETA 10s" },
  { name: "a narrower bar on a narrow terminal", state: half, columns: 80, want: "image (disk.qcow2) [########--------]  50% 50.0 MiB/100.0 MiB 5.0 MiB/s ETA 10s" },
  { name: "no bar when the size is unknown", state: unknown, columns: 100, want: "image (disk.qcow2) 50.0 MiB 5.0 MiB/s" },
  { name: "the text cut to a tiny terminal", state: half, columns: 30, want: "image (disk.qcow2)  50% 50.0 " },
])("progressBar() draws $name", ({ state, columns, want }) => {
  const bar = progressBar(state, columns);
  expect(bar).toBe(want);
  expect(bar.length).toBeLessThan(columns);
});

test.each([
  { name: "with a known size", state: half, want: "Downloading image (disk.qcow2): 50% (50.0 MiB/100.0 MiB, 5.0 MiB/s, ETA 10s)" },
  { name: "without a size", state: unknown, want: "Downloading image (disk.qcow2): (50.0 MiB, 5.0 MiB/s)" },
])("progressLine() writes a quiet line $name", ({ state, want }) => {
  expect(progressLine(state)).toBe(want);
});

test.each([
  { name: "a fresh download", state: { ...half, receivedBytes: 100 * MiB }, want: "Downloaded image (disk.qcow2): 100.0 MiB in 10.0s (10.0 MiB/s)" },
  { name: "a resumed download", state: { ...resumed, receivedBytes: 100 * MiB }, want: "Downloaded image (disk.qcow2): 100.0 MiB in 10.0s (6.0 MiB/s, resumed at 40.0 MiB)" },
])("doneLine() sums up $name", ({ state, want }) => {
  expect(doneLine(state)).toBe(want);
});
