// PID files of the host agent and the driver. A PID file that names a dead process is stale: it is
// removed, as Lima does, so the next start is not refused.
import { readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";

/**
 * True when a process with this PID exists (EPERM means it exists but belongs to someone else) and, on Linux,
 * is not a zombie: a VM process that died but whose parent has not reaped it yet is gone for every purpose of den.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  if (process.platform !== "linux") return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
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
