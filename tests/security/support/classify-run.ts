// The verdict on one fuzz run: crash, hang, ugly error, clean error, or accepted. Pure, so its rules are tested by
// themselves; the rules are the issue's: a user sees `error: …` and `hint: …`, never a stack, a bug notice, a raw
// errno, control bytes or their own input echoed back at length.

export type Category = "clean" | "accepted" | "ugly" | "crash" | "hang";

export interface RunFacts {
  exitCode: number | null;
  signal: string | null;
  killedFor?: "timeout" | "memory" | undefined;
  /** Processes den left running in its group after it exited. */
  leftBehind?: boolean;
  stderr: string;
  stderrBytes: number;
  /** Longest stretch of the case's input found in stderr (longestEcho). */
  echoLength: number;
  /** A host secret (SecretMarker) appeared in stderr. */
  secretInStderr: boolean;
  /** The input is invalid: a zero exit means den took something it must refuse. */
  mustFail: boolean;
  timeoutMs: number;
  maxRssBytes: number;
}

export interface Verdict {
  category: Category;
  /** Why it is not clean (empty for clean and plainly accepted runs). */
  reasons: string[];
  /** Accepted although the input is invalid. */
  acceptedInvalid: boolean;
}

/** Exit codes den itself uses; `den shell`/`copy` pass the guest's through, but the fuzz run has no guest. */
const DenExitCodes = new Set([0, 1]);
export const MaxEchoBytes = 300;
const MaxStderrBytes = 64 * 1024;

const CrashBanner = /oh no: Bun has crashed|panic\(|^panic:|Segmentation fault|Illegal instruction|Bus error|bun\.report\/|Aborted \(core dumped\)/m;
const StackFrame = /^\s+at\s+\S/m;
/** Errors commander prints itself; they carry no hint but are clean usage errors. */
const CommanderError =
  /^error: (unknown option|unknown command|too many arguments|missing required argument|option '[^']*' argument missing|option '[^']*' argument '[^']*' is invalid|command-argument value '[^']*' is invalid|required option|option '[^']*' cannot be used with)/m;
const ErrnoCode = /\b(EACCES|ENOENT|ENOTDIR|EISDIR|EPERM|EROFS|ENOSPC|EMFILE|ENFILE|ENAMETOOLONG|ELOOP|EEXIST|EINVAL|EIO|EPIPE|EBADF|EAGAIN|ENXIO|ESPIPE|EFBIG|ETXTBSY|EBUSY|EXDEV|ENOTEMPTY|ECONNRESET)\b/;
const ErrnoText = /permission denied|operation not permitted|no such file or directory|not a directory|is a directory|file name too long|too many levels of symbolic links|read-only file system|bad file descriptor|illegal seek|no space left on device/i;
const ControlBytes = /[\x00-\x08\x0b-\x1f\x7f\x9b]/;

export function classifyRun(facts: RunFacts): Verdict {
  const reasons: string[] = [];
  if (facts.killedFor === "timeout") reasons.push(`no exit within ${Math.round(facts.timeoutMs / 1000)} s`);
  if (facts.killedFor === "memory") reasons.push(`more than ${Math.round(facts.maxRssBytes / 1024 / 1024)} MiB of memory`);
  if (facts.leftBehind) reasons.push("left processes running after it exited");
  if (reasons.length > 0) return { category: "hang", reasons, acceptedInvalid: false };

  if (facts.signal !== null) reasons.push(`killed by ${facts.signal}`);
  if (CrashBanner.test(facts.stderr)) reasons.push("Bun crash banner");
  if (facts.exitCode !== null && !DenExitCodes.has(facts.exitCode)) reasons.push(`exit code ${facts.exitCode} (den uses 0 and 1)`);
  if (reasons.length > 0) return { category: "crash", reasons, acceptedInvalid: false };

  reasons.push(...outputProblems(facts));
  const failed = facts.exitCode !== 0;
  if (failed) reasons.push(...errorShapeProblems(facts.stderr));
  if (reasons.length > 0) return { category: "ugly", reasons, acceptedInvalid: false };
  if (failed) return { category: "clean", reasons, acceptedInvalid: false };
  return { category: "accepted", reasons: facts.mustFail ? ["exit 0 for input that must be refused"] : [], acceptedInvalid: facts.mustFail };
}

/** What must never reach the user's terminal, whatever the exit code. */
function outputProblems(facts: RunFacts): string[] {
  const problems: string[] = [];
  const { stderr } = facts;
  if (stderr.includes("this looks like a bug in den")) problems.push('"this looks like a bug in den"');
  if (StackFrame.test(stderr)) problems.push("stack trace");
  if (stderr.includes("(node:")) problems.push("(node:…) warning");
  if (/^Bun v\d+\.\d+\.\d+ \(/m.test(stderr)) problems.push("uncaught exception (Bun's own error printout)");
  if (ControlBytes.test(stderr)) problems.push("control bytes in stderr");
  if (facts.stderrBytes > MaxStderrBytes) problems.push(`${facts.stderrBytes} bytes of stderr`);
  if (facts.echoLength > MaxEchoBytes) problems.push(`echoes ${facts.echoLength} bytes of its input`);
  if (facts.secretInStderr) problems.push("prints a host secret in stderr");
  return problems;
}

/** A failure must say `error: …` and, unless commander itself complained, `hint: …`; errno text needs its path. */
function errorShapeProblems(stderr: string): string[] {
  const problems: string[] = [];
  const errorLines = stderr.split("\n").filter((line) => line.startsWith("error: "));
  if (errorLines.length === 0) return ["no error: line"];
  if (!CommanderError.test(stderr) && !/^hint: \S/m.test(stderr)) problems.push("no hint: line");
  const rawErrno = errorLines.find((line) => (ErrnoCode.test(line) || ErrnoText.test(line)) && !line.includes("/"));
  if (rawErrno !== undefined) problems.push("errno text without a path");
  return problems;
}
