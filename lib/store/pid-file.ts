// PID files of the host agent and the driver. A PID file that names a dead process is stale: it is removed, as
// Lima does, so the next start is not refused. A PID file that names a live process is trusted only when that process
// is the one den started (readOwnedPid): after a reboot, or once the process died without removing its file, the PID
// may belong to anything, and den must never signal an unrelated process (as root: any process on the machine).
import { readFileSync } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import { run } from "../process/run.ts";

/** What den needs to know about a live process to trust a PID file that names it. */
export interface ProcessFacts {
  /** The argv words (Linux: /proc/PID/cmdline). */
  argv?: readonly string[] | undefined;
  /** The command line as one string, words joined by spaces (macOS: `ps -o command=`), when argv is unknown. */
  command?: string | undefined;
  /** When the process started, ms since the epoch. */
  startedAtMs: number;
}

/** Reads the facts of process `pid`; undefined when it is gone or cannot be inspected. */
export type ProcessReader = (pid: number) => Promise<ProcessFacts | undefined>;

/** The process a PID file must name. */
export interface PidOwner {
  /** Words that follow each other in the process's command line, e.g. `["hostagent", "dev"]`. */
  words: readonly string[];
  /** For messages: `the host agent of "dev"`. */
  what: string;
}

export interface ReadOwnedPidOptions {
  expect: PidOwner;
  /** Where the process facts come from; /proc on Linux and `ps` elsewhere by default. */
  readProcess?: ProcessReader | undefined;
  /** How much later than the PID file's mtime the process may have started (clock and mtime granularity); 2 s. */
  slackMs?: number | undefined;
}

/** A trusted PID, or none; `stale` says why a PID file was not trusted (and removed), for a debug log. */
export type OwnedPid = { pid: number; stale?: undefined } | { pid?: undefined; stale?: string | undefined };

const DefaultSlackMs = 2000;
// USER_HZ, the unit of /proc/PID/stat's start time: 100 on every architecture den runs on (x86_64, aarch64, riscv64).
const ClockTicksPerSecond = 100;

/** The host agent is `den hostagent NAME` (lib/instance/start.ts launches it with exactly these words). */
export function hostAgentOwner(name: string): PidOwner {
  return { words: ["hostagent", name], what: `the host agent of "${name}"` };
}

/** A driver process (QEMU) is told where to write its PID file: `-pidfile PATH` (drivers/qemu/qemu-args.ts). */
export function driverOwner(pidFile: string): PidOwner {
  return { words: ["-pidfile", pidFile], what: `the VM process of ${pidFile}` };
}

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

/**
 * The live PID in `path`, or undefined when the file is missing, unreadable garbage, or stale (then removed). It does
 * not check whose process it is: use it to wait for a file, never to decide what to signal (readOwnedPid does that).
 */
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

/**
 * The PID in `path` when it names the process den started there: alive, with the expected words in its command line,
 * and started no later than the file was written. Otherwise the file is stale: it is removed and `stale` says why.
 */
export async function readOwnedPid(path: string, options: ReadOwnedPidOptions): Promise<OwnedPid> {
  let text: string;
  let writtenAtMs: number;
  try {
    [text, writtenAtMs] = await Promise.all([readFile(path, "utf8"), stat(path).then((found) => found.mtimeMs)]);
  } catch {
    return {};
  }
  const stale = async (reason: string): Promise<OwnedPid> => {
    await rm(path, { force: true });
    return { stale: `${basename(path)} is stale: ${reason}` };
  };
  const pid = /^\s*(\d{1,10})\s*$/.test(text) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) return stale("it holds no PID");
  if (!isProcessAlive(pid)) return stale(`process ${pid} is not running`);
  const facts = await (options.readProcess ?? defaultProcessReader)(pid);
  if (!facts) return stale(`process ${pid} cannot be inspected`);
  if (!commandHasWords(facts, options.expect.words)) {
    return stale(`process ${pid} is not ${options.expect.what} (its command line is "${shortCommand(facts)}")`);
  }
  // A file written before the process existed is left from an earlier run whose PID was reused (e.g. after a reboot).
  if (facts.startedAtMs > writtenAtMs + (options.slackMs ?? DefaultSlackMs)) {
    return stale(`process ${pid} started at ${new Date(facts.startedAtMs).toISOString()}, after the file was written (${new Date(writtenAtMs).toISOString()})`);
  }
  return { pid };
}

/** True when `words` follow each other in the process's argv (or, with only a command string, in that string). */
export function commandHasWords(facts: Pick<ProcessFacts, "argv" | "command">, words: readonly string[]): boolean {
  if (words.length === 0) return true;
  if (facts.argv) {
    for (let i = 0; i + words.length <= facts.argv.length; i++) {
      if (words.every((word, j) => facts.argv?.[i + j] === word)) return true;
    }
    return false;
  }
  return facts.command !== undefined && ` ${facts.command} `.includes(` ${words.join(" ")} `);
}

function shortCommand(facts: ProcessFacts): string {
  const command = facts.argv ? facts.argv.join(" ") : (facts.command ?? "");
  const printable = command.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 120 ? `${printable.slice(0, 120)}…` : printable;
}

/** The start time in clock ticks after boot: field 22 of /proc/PID/stat (fields counted after the `(comm)` field). */
export function parseProcStatStartTicks(text: string): number | undefined {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After `pid (comm) `, the state is field 3, so field 22 is index 19.
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) && ticks >= 0 ? ticks : undefined;
}

/** The boot time in seconds since the epoch: the `btime` line of /proc/stat. */
export function parseBootTime(text: string): number | undefined {
  const match = /^btime (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

const Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `ps -o lstart=,command=` output (C locale, local time): `Mon Jan  6 12:34:56 2025 /path/to/qemu -pidfile …`. */
export function parsePsLine(text: string): Pick<ProcessFacts, "command" | "startedAtMs"> | undefined {
  const match = /^\s*[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\s+(.*?)\s*$/s.exec(text);
  if (!match) return undefined;
  const month = Months.indexOf(match[1] as string);
  if (month < 0) return undefined;
  const [day, hours, minutes, seconds, year] = [2, 3, 4, 5, 6].map((i) => Number(match[i]));
  const startedAtMs = new Date(year as number, month, day, hours, minutes, seconds).getTime();
  return Number.isNaN(startedAtMs) ? undefined : { command: match[7] as string, startedAtMs };
}

/** /proc on Linux; `ps` elsewhere (macOS has no /proc). */
export const defaultProcessReader: ProcessReader = (pid) => (process.platform === "linux" ? readLinuxProcess(pid) : readPsProcess(pid));

async function readLinuxProcess(pid: number): Promise<ProcessFacts | undefined> {
  try {
    const [cmdline, stat, procStat] = await Promise.all([
      readFile(`/proc/${pid}/cmdline`, "utf8"),
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile("/proc/stat", "utf8"),
    ]);
    const ticks = parseProcStatStartTicks(stat);
    const bootTime = parseBootTime(procStat);
    if (ticks === undefined || bootTime === undefined) return undefined;
    const argv = cmdline.split("\0");
    if (argv.at(-1) === "") argv.pop();
    return { argv, startedAtMs: bootTime * 1000 + (ticks * 1000) / ClockTicksPerSecond };
  } catch {
    return undefined;
  }
}

async function readPsProcess(pid: number): Promise<ProcessFacts | undefined> {
  try {
    // -ww: the full command line, not cut at the terminal width; C locale: English month and day names.
    const { code, stdout } = await run(["ps", "-ww", "-o", "lstart=,command=", "-p", String(pid)], { env: { ...process.env, LC_ALL: "C" }, timeoutMs: 10_000 });
    return code === 0 ? parsePsLine(stdout) : undefined;
  } catch {
    return undefined;
  }
}
