// Text of download progress: a one-line bar for terminals, and plain lines for logs and pipes.
import { inBinaryUnits } from "../text/binary-units.ts";

export interface ProgressState {
  label: string;
  /** Bytes of the file on disk so far, including those a resumed download started with. */
  receivedBytes: number;
  totalBytes: number | undefined;
  /** Bytes that were already there when this transfer began (they do not count for the rate). */
  resumedFrom: number;
  elapsedMs: number;
}

/** `0 B`, `999 B`, `1.5 KiB`, `120.3 MiB`, `2.00 GiB`. */
export function formatBytes(bytes: number): string {
  const { value, unit } = inBinaryUnits(bytes, "TiB");
  if (unit === "B") return `${Math.round(value)} B`;
  // From GiB up a tenth is a hundred MiB or more: show hundredths while the number is small.
  return `${value.toFixed(value < 10 && (unit === "GiB" || unit === "TiB") ? 2 : 1)} ${unit}`;
}

/** `7s`, `1m05s`, `2h03m`. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Bytes per second of this transfer; undefined before there is anything to measure. */
export function transferRate(state: ProgressState): number | undefined {
  const moved = state.receivedBytes - state.resumedFrom;
  return state.elapsedMs > 0 && moved > 0 ? moved / (state.elapsedMs / 1000) : undefined;
}

function facts(state: ProgressState): { percent: string | undefined; amount: string; rate: string | undefined; eta: string | undefined } {
  const rate = transferRate(state);
  const total = state.totalBytes;
  const percent = total ? `${Math.min(100, Math.floor((state.receivedBytes / total) * 100))}%` : undefined;
  const amount = total ? `${formatBytes(state.receivedBytes)}/${formatBytes(total)}` : formatBytes(state.receivedBytes);
  const eta = total && rate ? `ETA ${formatEta((total - state.receivedBytes) / rate)}` : undefined;
  return { percent, amount, rate: rate ? `${formatBytes(rate)}/s` : undefined, eta };
}

/** `disk.qcow2 [########------]  45% 12.0 MiB/26.7 MiB 3.2 MiB/s ETA 5s`, fitted into `columns`. */
export function progressBar(state: ProgressState, columns: number): string {
  const { percent, amount, rate, eta } = facts(state);
  const tail = [percent?.padStart(4), amount, rate, eta].filter(Boolean).join(" ");
  // One column spare: a line exactly as wide as the terminal wraps on some of them.
  const room = columns - state.label.length - tail.length - 5;
  if (!state.totalBytes || room < 10) return `${state.label} ${tail}`.slice(0, Math.max(0, columns - 1));
  const width = Math.min(40, room);
  const filled = Math.min(width, Math.floor((state.receivedBytes / state.totalBytes) * width));
  return `${state.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${tail}`;
}

/** `Downloading disk.qcow2: 45% (12.0 MiB/26.7 MiB, 3.2 MiB/s, ETA 5s)`, for output that is not a terminal. */
export function progressLine(state: ProgressState): string {
  const { percent, amount, rate, eta } = facts(state);
  const details = [amount, rate, eta].filter(Boolean).join(", ");
  return `Downloading ${state.label}: ${percent ? `${percent} ` : ""}(${details})`;
}

/** `Downloaded disk.qcow2: 26.7 MiB in 8.3s (3.2 MiB/s)`; a resumed download says how much it resumed from. */
export function doneLine(state: ProgressState): string {
  const rate = transferRate(state);
  const resumed = state.resumedFrom > 0 ? `, resumed at ${formatBytes(state.resumedFrom)}` : "";
  return `Downloaded ${state.label}: ${formatBytes(state.receivedBytes)} in ${(state.elapsedMs / 1000).toFixed(1)}s${rate ? ` (${formatBytes(rate)}/s${resumed})` : resumed ? ` (${resumed.slice(2)})` : ""}`;
}
