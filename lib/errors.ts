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
  | "GUEST_AGENT"; // the guest agent is not connected, refused a stream (with the guest's errno) or is missing

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

/** All problems of one configuration, collected rather than thrown at the first. */
export class ConfigError extends DenError {
  readonly issues: ConfigIssue[];

  constructor(code: "CONFIG_SYNTAX" | "CONFIG_INVALID", issues: ConfigIssue[], options: DenErrorOptions = {}) {
    super(code, issues.map(formatIssue).join("\n"), { ...options, hint: options.hint ?? issues.find((issue) => issue.hint)?.hint });
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

/** `file:line:col: path: message` (parts that are unknown are left out). */
export function formatIssue(issue: ConfigIssue): string {
  const where = [issue.file, issue.line, issue.column].filter((part) => part !== undefined).join(":");
  const path = issue.path.length > 0 ? formatPath(issue.path) : "";
  return [where, path, issue.message].filter((part) => part !== "").join(": ");
}

/** `mounts[0].location` */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

export interface RenderOptions {
  debug?: boolean;
}

/** The text shown to the user for an error: message, then `hint:` line; a stack only with --debug. */
export function renderError(error: unknown, options: RenderOptions = {}): string {
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
