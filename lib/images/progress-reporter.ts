// Turns download events into output: a bar redrawn in place on a terminal, or a line every few seconds otherwise.
// The caller owns the streams; this file only decides what to write and when.
import type { DownloadEvent, DownloadListener } from "./download-event.ts";
import { doneLine, formatBytes, progressBar, progressLine, type ProgressState } from "./progress-format.ts";

export interface ProgressReporterOptions {
  /** One finished line of output (the quiet form, and the summaries in both forms). */
  line: (text: string) => void;
  /** A warning (a retry that gave up on a mirror, a digest left unchecked); printed as a line when absent. */
  warn?: ((text: string) => void) | undefined;
  /** Raw writes to a terminal, for the redrawn bar; absent when the output is not a terminal. */
  terminal?: { write: (text: string) => void; columns: () => number } | undefined;
  now?: () => number;
  /** How often the quiet form writes a line during a transfer. */
  lineIntervalMs?: number;
}

const BarIntervalMs = 100;
const DefaultLineIntervalMs = 5_000;

export function createProgressReporter(options: ProgressReporterOptions): DownloadListener {
  const now = options.now ?? (() => performance.now());
  const lineInterval = options.lineIntervalMs ?? DefaultLineIntervalMs;
  let state: ProgressState | undefined;
  let startedAt = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let barShown = false;

  const clearBar = (): void => {
    if (barShown) options.terminal?.write("\r\x1b[K");
    barShown = false;
  };
  const draw = (force: boolean): void => {
    if (!state) return;
    const at = now();
    state.elapsedMs = at - startedAt;
    if (!force && at - lastDraw < (options.terminal ? BarIntervalMs : lineInterval)) return;
    lastDraw = at;
    if (options.terminal) {
      options.terminal.write(`\r\x1b[K${progressBar(state, options.terminal.columns())}`);
      barShown = true;
    } else {
      options.line(progressLine(state));
    }
  };

  return (event: DownloadEvent): void => {
    switch (event.kind) {
      case "start":
        startedAt = now();
        lastDraw = startedAt;
        state = { label: event.label, receivedBytes: event.offset, totalBytes: event.totalBytes, resumedFrom: event.offset, elapsedMs: 0 };
        options.line(`Downloading ${event.label} from ${event.url}${event.offset > 0 ? ` (resuming after ${formatBytes(event.offset)})` : ""}`);
        if (options.terminal) draw(true);
        return;
      case "data":
        if (!state) return;
        state.receivedBytes = event.receivedBytes;
        state.totalBytes = event.totalBytes;
        draw(false);
        return;
      case "done":
        if (!state) return;
        state.receivedBytes = event.receivedBytes;
        state.elapsedMs = now() - startedAt;
        clearBar();
        options.line(doneLine(state));
        state = undefined;
        return;
      case "cached":
        options.line(`Using cached ${event.label} (${event.url})`);
        return;
      case "waiting":
        options.line(`Waiting for another den process that is downloading ${event.label}`);
        return;
      case "retry":
        clearBar();
        options.line(`Download of ${event.label} interrupted (${event.reason}); retrying in ${Math.round(event.delayMs / 1000)}s (attempt ${event.attempt})`);
        return;
      case "warning":
        clearBar();
        (options.warn ?? options.line)(event.message);
        return;
    }
  };
}
