// Sends a signal to a process den knows by PID (from a PID file, or one it started detached).
import { DenError } from "../errors.ts";

export interface SignalPidOptions {
  /** Whose process it is, for the message: `instance "default"` reads "Cannot signal process 42 of instance …". */
  of?: string | undefined;
}

/**
 * Sends `signal` to `pid`. Returns false when the process is already gone (ESRCH), true when the signal was
 * delivered; any other failure (EPERM: another user's process) becomes a DenError.
 */
export function signalPid(pid: number, signal: NodeJS.Signals, options: SignalPidOptions = {}): boolean {
  const subject = `process ${pid}${options.of ? ` of ${options.of}` : ""}`;
  // kill(0) and kill(-1) signal a whole process group or every process of the user: a missing PID read as 0 must
  // never get that far.
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new DenError("INTERNAL", `Cannot signal ${subject}: it is not a process ID`, { details: { pid, signal } });
  }
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    throw new DenError("IO", `Cannot signal ${subject}: ${(error as Error).message}`, {
      cause: error,
      ...(code === "EPERM" && { hint: "the process belongs to another user; stop it as that user" }),
      details: { pid, signal },
    });
  }
}
