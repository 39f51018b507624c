// Typed errors for den. Library code throws these and never prints or exits;
// main.ts is the only place that renders them (renderError) and sets the exit code.

/** Every condition den reports, as a closed set so callers and tests can branch on it. */
export type ErrorCode =
  | "CONFIG_SYNTAX" // YAML that does not parse
  | "CONFIG_INVALID" // YAML that parses but breaks the schema or a cross-field rule
  | "TEMPLATE_NOT_FOUND"
  | "TEMPLATE_CYCLE"
  | "TEMPLATE_TOO_LARGE"
  | "TEMPLATE_EXPR" // a {{ go template }} that cannot be evaluated
  | "YQ_EXPR" // a --set expression outside the supported subset or that fails
  | "LOCATOR_INVALID"
  | "FETCH_FAILED"
  | "INSTANCE_NAME_INVALID"
  | "INSTANCE_EXISTS"
  | "INSTANCE_NOT_FOUND"
  | "ISO_LIMIT" // an ISO9660 limit (name length, depth, size) is exceeded
  | "USAGE" // bad command-line usage
  | "IO"
  | "INTERNAL"
  | "INSTANCE_LOCKED" // another den process holds the instance's den.lock
  | "SSH_UNREACHABLE" // the guest did not accept an SSH login in time
  | "QMP" // the QEMU Machine Protocol socket failed, timed out or answered with an error
  | "QEMU_VERSION" // the installed QEMU is older than den (or the template) requires
  | "QEMU_IMG" // qemu-img failed to create, inspect or resize a disk
  | "HOST_AGENT" // ha.sock is missing, refuses, times out, or answers with an error
  | "INSTANCE_STATE" // the instance is not in the state the command needs (e.g. not running, not stopped)
  | "INSTANCE_PROTECTED" // the instance has a `protected` marker and the command would destroy it
  | "STOP_TIMEOUT" // the instance did not stop within the graceful-stop timeouts
  | "HOST_TOOL_MISSING" // a program or file den needs on the host (QEMU, qemu-img, UEFI firmware, a decompressor) is absent
  | "QEMU_FAILED" // QEMU could not be launched, did not come up, or exited while the VM should run
  | "DIGEST_MISMATCH" // a file's content does not match the digest the configuration gives
  | "BOOT_FAILED" // the guest did not become ready: a named boot stage failed or timed out
  | "GUEST_AGENT" // the guest agent is not connected, refused a stream (with the guest's errno) or is missing
  | "FILE_NOT_REGULAR" // a path den reads as a file is a FIFO, device, socket or folder (refused unread)
  | "FILE_TOO_LARGE" // a file or stream den reads is over its size limit (checked before or while reading)
  | "TEMPLATE_LOCATOR_REFUSED" // a remote template names a local file (base:, provision/probes file:)
  | "TEMPLATE_SHARE_REFUSED" // a remote template shares "/" or, writable, the home folder or DEN_HOME with the guest
  | "COMMAND_TIMEOUT" // a program den runs to completion (lib/process/run.ts) did not finish in time and was killed
  | "DRIVER_UNAVAILABLE" // no driver is registered for the instance's vmType, or its driver cannot run on this host
  | "INSTANCE_DEGRADED" // the instance runs, but a readiness check, probe or copyToHost failed (den start exits non-zero, as Lima)
  | "PROVISION_FAILED" // a host-side provisioning step (ansible playbook) could not run or failed
  | "VZ_HELPER" // the VZ helper could not be run, broke its control protocol, answered an error or died
  | "PLUGIN_FAILED" // a den-NAME / den-url-SCHEME plugin could not run, failed, timed out or resolved a locator in a loop
  | "INSTANCE_FORMAT" // an instance folder's format version is newer than this den reads, or its migration failed
  | "SNAPSHOT_UNSUPPORTED" // the instance's driver (its vmType) has no snapshots
  | "DISK_NAME_INVALID" // a disk name (den disk …, additionalDisks) that is not a plain identifier
  | "DISK_NOT_FOUND" // a named additional disk has no $DEN_HOME/_disks/NAME/datadisk
  | "DISK_EXISTS" // den disk create/import: the disk already exists
  | "DISK_IN_USE" // the disk is locked (in_use_by) by another instance, or by a running one
  | "EDITOR_FAILED" // no text editor was found for den edit, or it could not run or exited with an error
  | "AUTOSTART"; // den start-at-login: systemctl --user or launchctl could not register or unregister the instance

export interface DenErrorOptions {
  /** Where the user should look next, printed on its own `hint:` line. */
  hint?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class DenError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: DenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    Object.defineProperty(this, "name", { value: new.target.name, enumerable: false });
  }
}

/** One problem found in a configuration file; line and column are 1-based. */
export interface ConfigIssue {
  /** Path of the offending node, e.g. ["mounts", 0, "location"]. */
  path: (string | number)[];
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  column?: number;
}

/**
 * The hint of a configuration error none of whose issues has its own: every error that reaches the user says where
 * to look next, and a schema mistake ("Expected a mapping, got a list") is best compared with a commented template.
 */
export const DefaultConfigHint = 'see "den template show default" for every key with a comment; "den validate FILE" lists all problems of a file';

/** All problems of one configuration, collected rather than thrown at the first. */
export class ConfigError extends DenError {
  readonly issues: ConfigIssue[];

  constructor(code: "CONFIG_SYNTAX" | "CONFIG_INVALID", issues: ConfigIssue[], options: DenErrorOptions = {}) {
    super(code, formatIssues(issues), { ...options, hint: options.hint ?? issues.find((issue) => issue.hint)?.hint ?? DefaultConfigHint });
    this.issues = issues;
  }
}

/** The error was already reported to the user; just exit with this code. */
export class ExitError extends DenError {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super("INTERNAL", `exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

/**
 * At most this many issues are listed; a file that is not a configuration at all (a binary, /etc/shadow) would
 * otherwise have every line of it quoted back.
 */
const MaxIssuesShown = 20;

/** The issues one per line, the first MaxIssuesShown of them and a count of the rest. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  const lines = issues.slice(0, MaxIssuesShown).map(formatIssue);
  const more = issues.length - MaxIssuesShown;
  if (more > 0) lines.push(`… and ${more} more ${more === 1 ? "problem" : "problems"}`);
  return lines.join("\n");
}

/** `file:line:col: path: message` (parts that are unknown are left out). */
export function formatIssue(issue: ConfigIssue): string {
  const file = issue.file === undefined ? undefined : excerptPath(issue.file);
  const where = [file, issue.line, issue.column].filter((part) => part !== undefined).join(":");
  const path = issue.path.length > 0 ? formatPath(issue.path) : "";
  return [where, path, issue.message].filter((part) => part !== "").join(": ");
}

/** `mounts[0].location`; keys come from the user's file, so each is a short escaped excerpt. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const key = excerpt(part, 40);
      out += out === "" ? key : `.${key}`;
    }
  }
  return out;
}

/**
 * `text` made safe to quote in a message: control and other unprintable characters become `\n`, `\t`, `\xNN`
 * or `\u{NNNN}`, and the result is cut to `max` characters ending in "…". Every message that shows user input
 * (a YAML key or value, a size, an expression, a locator) goes through this: the input may be a binary file or
 * /etc/shadow, and an error must never replay it to the terminal.
 */
export function excerpt(text: string, max = 80): string {
  let out = "";
  let position = 0;
  for (const char of text) {
    position += char.length;
    const piece = escapeChar(char);
    // Room for "…" is kept unless this is the last character.
    if (out.length + piece.length > (position >= text.length ? max : max - 1)) return `${out}…`;
    out += piece;
  }
  return out;
}

/**
 * A path as a message quotes it: escaped like excerpt(), and when longer than `max` its start and its end with "…"
 * between them (the file name at the end is what tells the user which file). A path can come from argv or the
 * environment at any length (a 10 KB template name, DEN_HOME of 5,000 characters); the message shows a short part.
 */
export function excerptPath(path: string, max = 200): string {
  if (path.length <= max) {
    const whole = excerpt(path, Number.POSITIVE_INFINITY);
    if (whole.length <= max) return whole;
  }
  const tailLength = Math.floor(max / 3);
  const head = excerpt(path, max - tailLength);
  const chars = [...path];
  // Escaping may lengthen the tail; take characters from the end while they fit.
  let tail = "";
  for (let index = chars.length - 1; index >= 0; index--) {
    const piece = excerpt(chars[index] as string, 16);
    if (tail.length + piece.length > tailLength) break;
    tail = piece + tail;
  }
  return `${head}${tail}`;
}

const NamedEscapes: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(char: string): string {
  const named = NamedEscapes[char];
  if (named !== undefined) return named;
  // C0/C1 controls, DEL, unpaired surrogates, and format/separator characters (bidi overrides, zero-width
  // joiners, U+2028) are what can rewrite or hide text on a terminal.
  if (!/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(char)) return char;
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

/** What a system call was doing, for `Cannot <action> "<path>"`. */
const SyscallActions: Record<string, string> = {
  open: "open",
  read: "read",
  write: "write to",
  close: "close",
  scandir: "list the folder",
  opendir: "list the folder",
  readdir: "list the folder",
  mkdir: "create the folder",
  mkdtemp: "create a temporary folder in",
  rmdir: "remove the folder",
  rm: "remove",
  unlink: "remove",
  rename: "rename",
  copyfile: "copy",
  cp: "copy",
  link: "link",
  symlink: "create the symbolic link",
  readlink: "read the symbolic link",
  realpath: "resolve",
  stat: "inspect",
  lstat: "inspect",
  fstat: "inspect",
  access: "access",
  chmod: "change the mode of",
  fchmod: "change the mode of",
  chown: "change the owner of",
  utime: "set the times of",
  futime: "set the times of",
  truncate: "truncate",
  ftruncate: "truncate",
  fsync: "flush",
  posix_spawn: "run",
  spawn: "run",
  connect: "connect to",
  bind: "listen on",
  listen: "listen on",
};

/**
 * The reason in plain words and what the user can do about it; `{path}` is the path the call failed on.
 * `denHome` is appended to the hint when that path is DEN_HOME, inside it or above it.
 */
const ErrnoExplanations: Record<string, { reason: string; hint: string; denHome?: string }> = {
  EACCES: { reason: "permission denied", hint: "check the owner and permissions of {path} and of the folders above it", denHome: "; DEN_HOME must be a folder you can write" },
  EPERM: { reason: "operation not permitted", hint: "check the owner, permissions and attributes of {path}", denHome: "; DEN_HOME must be a folder you can write" },
  ENOTDIR: { reason: "a part of the path is not a folder", hint: "check that {path} and the folders above it are folders, not files", denHome: "; is DEN_HOME set to a file?" },
  ENOENT: { reason: "no such file or folder", hint: "check that {path} exists" },
  EISDIR: { reason: "it is a folder", hint: "give the path of a file, not of a folder" },
  EEXIST: { reason: "it already exists", hint: "remove or rename {path}, or choose another name" },
  ENOTEMPTY: { reason: "the folder is not empty", hint: "look into {path} and remove what is left there" },
  ENOSPC: { reason: "no space left on the device", hint: "free space on the file system that holds {path} (df shows it)", denHome: ", or set DEN_HOME to a folder on another one" },
  EDQUOT: { reason: "the disk quota is exceeded", hint: "free space within your quota on the file system that holds {path}" },
  EROFS: { reason: "the file system is read-only", hint: "{path} is on a read-only file system; use a writable one", denHome: "; set DEN_HOME to a folder on a writable file system" },
  ELOOP: { reason: "too many levels of symbolic links", hint: "look for a symbolic link at or above {path} that points back to itself" },
  ENAMETOOLONG: { reason: "the path is too long", hint: "use a shorter path", denHome: ", e.g. a shorter DEN_HOME" },
  EMFILE: { reason: "den has too many open files", hint: "raise the limit of open files (ulimit -n) and try again" },
  ENFILE: { reason: "the system has too many open files", hint: "close other programs or raise the system's open file limit" },
  EBUSY: { reason: "it is busy", hint: "wait for the program that uses {path} to finish, then try again" },
  ETXTBSY: { reason: "the file is being executed", hint: "wait for the program that runs {path} to finish, then try again" },
  EXDEV: { reason: "source and target are on different file systems", hint: "keep both paths on one file system" },
  EIO: { reason: "an input/output error happened", hint: "check the disk that holds {path} (dmesg may say more)" },
  EFBIG: { reason: "the file is too large for the file system", hint: "use a file system that allows larger files" },
  ECONNREFUSED: { reason: "the connection was refused", hint: "check that the program serving {path} is running" },
  EADDRINUSE: { reason: "the address is already in use", hint: "stop the program that uses {path}, or choose another port or socket" },
  ENXIO: { reason: "no such device or address", hint: "{path} is a device, FIFO or socket nobody serves; give a regular file" },
  ENODEV: { reason: "no such device", hint: "{path} is a device den cannot use; give a regular file" },
  ESPIPE: { reason: "it cannot be read from the start", hint: "{path} is a pipe or terminal; give a regular file" },
  EINVAL: { reason: "the system refused the request as invalid", hint: "check that {path} is a regular file or folder on a local file system" },
  EOPNOTSUPP: { reason: "the file system does not support it", hint: "use a folder on another (local) file system than the one that holds {path}" },
  EAGAIN: { reason: "the resource is temporarily unavailable", hint: "try again in a moment" },
  EBADF: { reason: "the file was closed or cannot be used this way", hint: "try again; if it persists, run with --debug and report it" },
  EPIPE: { reason: "the other end closed the connection", hint: "check that the program at the other end of {path} is still running" },
  ECONNRESET: { reason: "the connection was reset", hint: "check that the program serving {path} is still running" },
  ETIMEDOUT: { reason: "the operation timed out", hint: "check your network connection and try again" },
};

interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

function isSystemError(error: unknown): error is SystemError {
  if (!(error instanceof Error)) return false;
  const { code, syscall, path } = error as Partial<SystemError>;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code)) return false;
  // Bun refuses some paths before making any system call (ENAMETOOLONG for a 5,000-character DEN_HOME) and then
  // sets no `syscall`: the path, or a message that starts with the code, still marks a system error.
  return typeof syscall === "string" || typeof path === "string" || error.message.startsWith(`${code}:`);
}

export interface ToDenErrorOptions {
  /** den's home folder; a failure at, in or above it says how DEN_HOME is involved. */
  denHome?: string;
}

/** A failed system call in words: why it failed (`too many levels of symbolic links`) and what the user can do. */
export interface SystemErrorDescription {
  code: string;
  /** What den tried, as a verb phrase for `Cannot <action> "<path>"` ("read", "list the folder"). */
  action: string;
  reason: string;
  hint: string;
}

/**
 * The reason and hint for a failed system call (see toDenError); undefined for any other error. Callers that
 * word their own message (`Cannot read template "x": …`) take the reason and hint from here, so every errno
 * reaches the user with a hint.
 */
export function describeSystemError(error: unknown, options: ToDenErrorOptions & { path?: string } = {}): SystemErrorDescription | undefined {
  if (error instanceof DenError || !isSystemError(error)) return undefined;
  // A failed read or write names no path (Bun's EIO); the caller knows which file it was.
  const { code } = error;
  const path = error.path ?? options.path;
  const syscall = error.syscall ?? /, ([a-z_]+)(?: '|$)/.exec(error.message)?.[1] ?? "";
  const explanation = ErrnoExplanations[code];
  const shownPath = path === undefined ? "the path" : `"${excerptPath(path)}"`;
  // The message names the path; the hint of an unknown code says only where to look.
  let hint = explanation?.hint.replaceAll("{path}", shownPath) ?? "check the path and try again";
  if (explanation?.denHome !== undefined && path !== undefined && options.denHome !== undefined && related(path, options.denHome)) {
    hint += explanation.denHome;
  }
  return { code, action: SyscallActions[syscall] ?? syscall, reason: explanation?.reason ?? systemReason(error.message, code), hint };
}

/**
 * A failed system call (Node/Bun errors carrying `code`, `syscall` and `path`) as DenError("IO") naming the path,
 * what den tried and what to do; any other error is returned as it is. Without this, a DEN_HOME that is a file
 * or not writable reads as "this looks like a bug in den".
 */
export function toDenError(error: unknown, options: ToDenErrorOptions = {}): unknown {
  const described = describeSystemError(error, options);
  if (described === undefined) return error;
  const { path, dest } = error as SystemError;
  const { code, action, reason, hint } = described;
  // "write to" needs its object; without a path the verb stands alone.
  const verb = path === undefined ? action.replace(/ (?:to|in|on|of)$/, "") : action;
  const target = path === undefined ? "" : ` "${excerptPath(path)}"${dest === undefined ? "" : ` to "${excerptPath(dest)}"`}`;
  const syscall = (error as SystemError).syscall;
  return new DenError("IO", `Cannot ${verb === "" ? "do it" : verb}${target}: ${reason} (${code})`, { hint, cause: error, details: { code, syscall, path } });
}

/** `path` is `home`, inside it, or one of the folders above it. */
function related(path: string, home: string): boolean {
  const strip = (text: string) => text.replace(/\/+$/, "") || "/";
  const [a, b] = [strip(path), strip(home)];
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer === "/" ? "/" : `${outer}/`);
  return within(a, b) || within(b, a);
}

/** The C library's description from a message such as `EIO: i/o error, write`. */
function systemReason(message: string, code: string): string {
  const match = /^E[A-Z0-9]+: ([^,]+)/.exec(message);
  return match?.[1] ?? code;
}

export interface RenderOptions extends ToDenErrorOptions {
  debug?: boolean;
}

/** The text shown to the user for an error: message, then `hint:` line; a stack only with --debug. */
export function renderError(error: unknown, options: RenderOptions = {}): string {
  return terminalSafe(renderLines(toDenError(error, options), options));
}

function renderLines(error: unknown, options: RenderOptions): string {
  if (error instanceof DenError) {
    const lines = [`error: ${error.message}`];
    if (error.hint) lines.push(`hint: ${error.hint}`);
    if (options.debug && error.stack) lines.push(error.stack);
    return lines.join("\n");
  }
  if (error instanceof Error) {
    const lines = [`error: ${error.message}`];
    lines.push(options.debug && error.stack ? error.stack : "hint: this looks like a bug in den; run with --debug for a stack trace");
    return lines.join("\n");
  }
  return `error: ${String(error)}`;
}

/**
 * The last guard before the terminal: whatever a message quotes, no control character other than the line
 * breaks and tabs den writes itself reaches it (an ESC in a YAML value must not recolour or clear the screen).
 */
function terminalSafe(text: string): string {
  return text.replace(/[\p{Cc}\p{Zl}\p{Zp}\u202a-\u202e\u2066-\u2069]/gu, (char) => (char === "\n" || char === "\t" ? char : escapeChar(char)));
}
