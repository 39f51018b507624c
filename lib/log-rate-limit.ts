// Bounds the log lines that someone else can make den write. The guest is untrusted: every bad agent frame, every
// listener it opens and closes, every error text it sends would otherwise be one host log line, and a guest that
// sends them in a loop fills ha.stderr.log at disk speed. Lines are counted per kind (one kind per call site or
// per cause); past `burst` lines in an interval the rest of that interval is counted, not written, and one summary
// line says how many went unwritten. A flood costs at most burst + 1 lines per kind and interval.
import type { Logger, LogLevel } from "./log.ts";

export interface LogRateLimitOptions {
  /** Lines of one kind written per interval before the rest is suppressed; 5 by default, or as the kind says. */
  burst?: number;
  /** 60 s by default. */
  intervalMs?: number;
  now?: () => number;
}

export interface RateLimitedLog {
  /**
   * A logger whose lines count against `kind`, e.g. "guest agent input"; the same kind shares one budget. Kinds are
   * fixed strings of den's, never text from the guest, or the kinds themselves would be unbounded.
   */
  kind(kind: string, options?: { burst?: number }): Logger;
  /** Writes the summary of every kind with suppressed lines now (on shutdown, so no count is lost). */
  flush(): void;
}

interface KindState {
  windowStart: number;
  written: number;
  suppressed: number;
  /** The most severe level among the suppressed lines: the summary is written at that level. */
  level: LogLevel;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const LevelRank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function rateLimitLog(log: Logger, options: LogRateLimitOptions = {}): RateLimitedLog {
  const burst = options.burst ?? 5;
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  const kinds = new Map<string, KindState>();
  const loggers = new Map<string, Logger>();

  const summarize = (kind: string, state: KindState) => {
    clearTimeout(state.timer);
    state.timer = undefined;
    if (state.suppressed > 0) {
      const seconds = Math.max(1, Math.round(intervalMs / 1000));
      log[state.level](`${kind}: ${state.suppressed} more ${state.suppressed === 1 ? "line" : "lines"} like this suppressed in the last ${seconds} s`, { suppressed: state.suppressed });
    }
    // The next line of this kind starts a fresh window.
    kinds.delete(kind);
  };

  const write = (kind: string, burst: number, line: { level: LogLevel; message: string; fields: Record<string, unknown> | undefined }) => {
    const { level, message, fields } = line;
    const time = now();
    let state = kinds.get(kind);
    if (state && time - state.windowStart >= intervalMs) {
      summarize(kind, state);
      state = undefined;
    }
    if (!state) {
      state = { windowStart: time, written: 0, suppressed: 0, level: "debug", timer: undefined };
      kinds.set(kind, state);
    }
    if (state.written < burst) {
      state.written++;
      log[level](message, fields);
      return;
    }
    state.suppressed++;
    if (LevelRank[level] > LevelRank[state.level]) state.level = level;
    if (!state.timer) {
      const current = state;
      // The summary comes when the interval ends even if the flood stopped: a count kept until the next line of
      // the same kind might never be written.
      current.timer = setTimeout(() => kinds.get(kind) === current && summarize(kind, current), Math.max(0, current.windowStart + intervalMs - time));
      current.timer.unref?.();
    }
  };

  return {
    kind(kind, kindOptions = {}) {
      let logger = loggers.get(kind);
      if (!logger) {
        const kindBurst = kindOptions.burst ?? burst;
        const at = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => write(kind, kindBurst, { level, message, fields });
        logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
        loggers.set(kind, logger);
      }
      return logger;
    },
    flush() {
      for (const [kind, state] of [...kinds]) summarize(kind, state);
    },
  };
}
