// The logger library code receives (it never prints on its own). main.ts makes one per run.
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /**
   * The same logger (format, debug switch) writing its lines to `write` instead, e.g. the host agent's size-bounded
   * ha.stderr.log (rotating-log.ts); absent on loggers that do not write lines themselves.
   */
  redirect?(write: (line: string) => void): Logger;
}

export interface LoggerOptions {
  format: LogFormat;
  debug: boolean;
  write?: (line: string) => void;
  now?: () => Date;
}

const textPrefix: Record<LogLevel, string> = { debug: "debug", info: "info", warn: "warning", error: "error" };

/** Text lines look like `warning: message (key=value)`; JSON lines are `{time, level, msg, ...fields}`. */
export function formatLogLine(level: LogLevel, message: string, fields: Record<string, unknown>, options: { format: LogFormat; now: Date }): string {
  if (options.format === "json") {
    return JSON.stringify({ time: options.now.toISOString(), level, msg: message, ...fields });
  }
  const extra = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return `${textPrefix[level]}: ${message}${extra.length > 0 ? ` (${extra.join(" ")})` : ""}`;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const log = (level: LogLevel) => (message: string, fields: Record<string, unknown> = {}) => {
    if (level === "debug" && !options.debug) return;
    write(formatLogLine(level, message, fields, { format: options.format, now: now() }));
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    redirect: (next) => createLogger({ ...options, write: next }),
  };
}

/** A logger that keeps its lines, for tests. */
export function createMemoryLogger(): Logger & { lines: { level: LogLevel; message: string }[] } {
  const lines: { level: LogLevel; message: string }[] = [];
  const keep = (level: LogLevel) => (message: string) => void lines.push({ level, message });
  return { lines, debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") };
}
