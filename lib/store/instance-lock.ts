// A per-instance lock, `<instance>/den.lock`, so two `den start` (or start and delete) of one instance
// cannot interleave. Bun has no flock(2), so the lock is a file created exclusively; the file names its
// holder (PID plus the process start time, which tells a live holder from a dead one whose PID was reused).
//
// A lock left by a dead process is stale and may be removed, but "check stale, then remove" races: two
// takers could both judge it stale, one removes it and locks, and the other then removes the new lock.
// So removing one particular stale lock first needs a second exclusive file keyed by that lock's content
// (`den.lock.takeover-<hash>`): only its creator may remove that generation of the lock, and since a
// dead holder never releases, the generation it checked is still the one it removes.
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { DenError } from "../errors.ts";
import { sleep } from "../process/sleep.ts";
import { InstanceLockFile } from "./filenames.ts";
import { isProcessAlive } from "./pid-file.ts";

export interface InstanceLock extends AsyncDisposable {
  /** Removes the lock if it is still this process's; calling it again does nothing. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** How long to wait for another holder; 0 tries once. */
  timeoutMs: number;
  /** What holds the lock, shown to whoever waits for it, e.g. `den start`. */
  owner: string;
  signal?: AbortSignal | undefined;
}

interface LockRecord {
  pid: number;
  /** The holder's start time as the OS reports it; compared, never interpreted. */
  start?: string | undefined;
  owner?: string | undefined;
  time?: string | undefined;
  nonce?: string | undefined;
}

/** Takes the instance lock, waiting up to `timeoutMs` for a live holder and taking over a dead holder's lock. */
export async function acquireInstanceLock(dir: string, options: AcquireOptions): Promise<InstanceLock> {
  const path = join(dir, InstanceLockFile);
  const text = recordText(options.owner);
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 10;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await createExclusive(path, text)) return heldLock(path, text);
    const current = await readText(path);
    if (current === undefined) continue;
    const holder = parseRecord(current);
    if (isStale(holder) && (await removeStale(path, current, text))) continue;
    const left = deadline - Date.now();
    if (left <= 0) throw lockedError(dir, path, holder);
    await sleep(Math.min(delayMs, left), options.signal);
    delayMs = Math.min(delayMs * 1.5, 250);
  }
}

/**
 * The start time of a process as an opaque string, or undefined when it cannot be read. Linux: field 22
 * of /proc/PID/stat (clock ticks since boot); elsewhere `ps -o lstart=`.
 */
export function processStartTime(pid: number): string | undefined {
  return processInfo(pid)?.start;
}

function heldLock(path: string, text: string): InstanceLock {
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    // Nobody removes a live holder's lock, so if the file still has our content it is still ours.
    if ((await readText(path)) === text) await rm(path, { force: true });
  };
  return { release, [Symbol.asyncDispose]: release };
}

/**
 * Removes the stale lock whose content is `staleText`, if no other taker is already doing so. Returns
 * true when the file was removed (or had already gone), so the caller can try to create it at once.
 */
async function removeStale(path: string, staleText: string, myText: string, depth = 0): Promise<boolean> {
  const guard = `${path}.takeover-${createHash("sha256").update(staleText).digest("hex").slice(0, 16)}`;
  if (!(await createExclusive(guard, myText))) {
    // Another taker is at it; if that taker died in the few instructions it needs, clear its guard too.
    const guardText = await readText(guard);
    if (guardText !== undefined && depth < 3 && isStale(parseRecord(guardText))) await removeStale(guard, guardText, myText, depth + 1);
    return false;
  }
  try {
    const current = await readText(path);
    if (current !== staleText) return current === undefined;
    await rm(path, { force: true });
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

/** Creates `path` with `text` only if it does not exist; the file appears complete or not at all. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: "wx" });
    // link() fails with EEXIST instead of replacing, which makes it the exclusive create; unlike
    // open(O_EXCL) followed by a write, nobody can read the lock before its content is there.
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new DenError("IO", `Cannot create lock file "${path}": ${(error as Error).message}`, {
      cause: error,
      hint: "check that the instance folder exists and is writable",
    });
  } finally {
    await rm(temporary, { force: true });
  }
}

function recordText(owner: string): string {
  const record: LockRecord = { pid: process.pid, start: processStartTime(process.pid), owner, time: new Date().toISOString(), nonce: randomUUID() };
  return `${JSON.stringify(record)}\n`;
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const record = value as Record<string, unknown>;
    if (typeof record.pid !== "number" || !Number.isInteger(record.pid) || record.pid <= 0) return undefined;
    return {
      pid: record.pid,
      start: typeof record.start === "string" ? record.start : undefined,
      owner: typeof record.owner === "string" ? record.owner : undefined,
      time: typeof record.time === "string" ? record.time : undefined,
    };
  } catch {
    return undefined;
  }
}

/** A lock den cannot read, or whose holder has exited (or is a zombie, or whose PID now names another process). */
function isStale(holder: LockRecord | undefined): boolean {
  if (!holder) return true;
  if (!isProcessAlive(holder.pid)) return true;
  const info = processInfo(holder.pid);
  if (!info) return !isProcessAlive(holder.pid);
  if (info.zombie) return true;
  return holder.start !== undefined && info.start !== undefined && holder.start !== info.start;
}

function processInfo(pid: number): { start: string | undefined; zombie: boolean } | undefined {
  if (process.platform === "linux") {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return { zombie: fields[0] === "Z", start: fields[19] };
    } catch {
      return undefined;
    }
  }
  const ps = Bun.spawnSync(["ps", "-o", "stat=", "-o", "lstart=", "-p", String(pid)], { stdin: "ignore", stderr: "ignore" });
  const line = ps.stdout.toString().trim();
  if (ps.exitCode !== 0 || line === "") return undefined;
  const space = line.indexOf(" ");
  return { zombie: line.startsWith("Z"), start: space < 0 ? undefined : line.slice(space).trim() };
}

function lockedError(dir: string, path: string, holder: LockRecord | undefined): DenError {
  const name = basename(dir);
  const who = holder ? `process ${holder.pid}${holder.owner ? ` (${holder.owner})` : ""}` : "another process";
  const since = holder?.time ? ` since ${holder.time}` : "";
  return new DenError("INSTANCE_LOCKED", `Cannot lock instance "${name}": ${who} has held it${since}`, {
    hint: holder
      ? `wait for that den command to finish, or stop process ${holder.pid} if it is stuck`
      : `wait for the other den command to finish; if none runs, remove ${path}`,
    details: { lockFile: path, pid: holder?.pid, owner: holder?.owner },
  });
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DenError("IO", `Cannot read lock file "${path}": ${(error as Error).message}`, { cause: error });
  }
}
