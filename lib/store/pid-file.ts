// PID files of the host agent and the driver. A PID file that names a dead process is stale: it is
// removed, as Lima does, so the next start is not refused.
import { readFile, rm } from "node:fs/promises";

/** True when a process with this PID exists (EPERM means it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The live PID in `path`, or undefined when the file is missing, unreadable garbage, or stale (then removed). */
export async function readPidFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) return pid;
  await rm(path, { force: true });
  return undefined;
}
