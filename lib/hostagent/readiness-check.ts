// The host agent's "engine" boot stage: readiness checks run in the guest after den's guest services are up, first the
// container engine's (engine-checks.ts), then the template's `probes:` (probes.ts). Each check is data, as in Lima's
// requirements: a description, a script, a hint. A check is retried until it succeeds, its attempts run out or the
// start's deadline passes; a failure names the check and shows its output, its hint and (for an engine) its log.
import type { ExecResult } from "../ssh/ssh-session.ts";
import { guestScriptCommand } from "./guest-script.ts";

export interface ReadinessCheck {
  /** "engine": a container-engine check den adds; "probe": one of the template's `probes:`. */
  kind: "engine" | "probe";
  /** Names the check in `den start` and in errors ("containerd binaries to be installed", "user probe 1/2"). */
  description: string;
  /** Starts with a `#!` line (guest-script.ts). */
  script: string;
  /** What the user should do or look at when the check fails; may be empty. */
  hint: string;
  /** A failure ends the stage: the checks after it could not succeed either (Lima: "systemd must be available"). */
  fatal?: boolean;
  /** A guest command printing the engine's log, shown under a failure (`journalctl -u containerd -n 20`). */
  logCommand?: string;
  /** How the log is titled under a failure: "containerd log (journalctl -u containerd)". */
  logTitle?: string;
}

export interface CheckFailure {
  check: ReadinessCheck;
  attempts: number;
  elapsedMs: number;
  /** The last attempt's result; absent when it never completed (SSH failed, timed out, not attempted). */
  result?: ExecResult | undefined;
  /** Why there is no result, or why the check could not run at all. */
  reason?: string | undefined;
  /** Last lines of the engine's log (logCommand). */
  logTail?: string[] | undefined;
}

export interface CheckRunContext {
  /** Runs one command in the guest (the host agent's SSH session). */
  exec: (command: string, options: { timeoutMs: number }) => Promise<ExecResult>;
  /** Epoch ms after which no attempt starts: the start's own timeout, less the time to report the failure. */
  deadline: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Export PARAM_* before each script (the template has params). */
  exportParams: boolean;
  /** Lima: 3 s between attempts. */
  retryIntervalMs?: number | undefined;
  /** Lima: 200 attempts (with 3 s, about 10 min). */
  maxAttempts?: number | undefined;
  /** Told when a check starts, for the `den start` progress line. */
  onCheck?: ((check: ReadinessCheck) => void) | undefined;
  /** Aborted when the host agent shuts down: no further attempt starts. */
  signal?: AbortSignal | undefined;
}

const DefaultRetryIntervalMs = 3_000;
const DefaultMaxAttempts = 200;
/** A last attempt still gets this long, so a deadline reached mid-stage leaves each remaining check one real try. */
const MinAttemptMs = 5_000;
const LogTimeoutMs = 10_000;
export const FailureOutputLines = 20;
const MaxLineChars = 400;

/** Runs `checks` in order and returns the failures (empty: all passed). */
export async function runReadinessChecks(checks: readonly ReadinessCheck[], ctx: CheckRunContext): Promise<CheckFailure[]> {
  const failures: CheckFailure[] = [];
  for (const check of checks) {
    if (ctx.signal?.aborted) break;
    if (ctx.now() >= ctx.deadline) {
      failures.push({ check, attempts: 0, elapsedMs: 0, reason: "not checked: the start timeout was reached during an earlier check" });
      continue;
    }
    ctx.onCheck?.(check);
    const failure = await runCheck(check, ctx);
    if (!failure) continue;
    failures.push(failure);
    if (check.fatal) break;
  }
  return failures;
}

async function runCheck(check: ReadinessCheck, ctx: CheckRunContext): Promise<CheckFailure | undefined> {
  const started = ctx.now();
  let command: string;
  try {
    command = guestScriptCommand(check.script, { exportParams: ctx.exportParams });
  } catch (error) {
    return { check, attempts: 0, elapsedMs: 0, reason: error instanceof Error ? error.message : String(error) };
  }
  const maxAttempts = check.fatal ? 1 : (ctx.maxAttempts ?? DefaultMaxAttempts);
  let attempts = 0;
  let result: ExecResult | undefined;
  let reason: string | undefined;
  for (;;) {
    attempts++;
    const timeoutMs = Math.max(ctx.deadline - ctx.now(), MinAttemptMs);
    try {
      result = await ctx.exec(command, { timeoutMs });
      reason = undefined;
      if (result.exitCode === 0) return undefined;
    } catch (error) {
      result = undefined;
      reason = error instanceof Error ? error.message : String(error);
    }
    const interval = ctx.retryIntervalMs ?? DefaultRetryIntervalMs;
    if (attempts >= maxAttempts || ctx.signal?.aborted || ctx.now() + interval >= ctx.deadline) break;
    await ctx.sleep(interval);
  }
  const failure: CheckFailure = { check, attempts, elapsedMs: ctx.now() - started, result, reason };
  if (check.logCommand) failure.logTail = await engineLog(check.logCommand, ctx);
  return failure;
}

async function engineLog(command: string, ctx: CheckRunContext): Promise<string[]> {
  try {
    const result = await ctx.exec(command, { timeoutMs: LogTimeoutMs });
    const lines = lastLines(`${result.stdout}${result.stderr}`, FailureOutputLines);
    return lines.length > 0 ? lines : ["(the log is empty)"];
  } catch (error) {
    return [`(cannot read the log: ${error instanceof Error ? error.message : String(error)})`];
  }
}

/**
 * The failure as `den start` shows it, one error of the host agent's status:
 * `the template's probe "X" failed (exit code 1, 3 attempts in 9 s)`, the output's last lines, the hint, the log.
 */
export function formatCheckFailure(failure: CheckFailure): string {
  const { check, result } = failure;
  const what = check.kind === "engine" ? `the container engine check "${check.description}"` : `the template's probe "${check.description}"`;
  const tries = failure.attempts === 0 ? "" : `, ${failure.attempts} ${failure.attempts === 1 ? "attempt" : "attempts"} in ${Math.round(failure.elapsedMs / 1000)} s`;
  const status = result ? (result.exitCode === null ? "killed by a signal" : `exit code ${result.exitCode}`) : (failure.reason ?? "no result");
  const lines = [`${what} failed (${status}${tries})`];
  const output = result ? lastLines(`${result.stdout}${result.stdout.endsWith("\n") || result.stdout === "" ? "" : "\n"}${result.stderr}`, FailureOutputLines) : [];
  if (output.length > 0) lines.push("  output (last lines):", ...output.map((line) => `  | ${line}`));
  else if (result) lines.push("  (no output)");
  if (check.hint.trim() !== "") lines.push(...check.hint.trim().split("\n").map((line, i) => `  ${i === 0 ? "hint: " : "      "}${line}`));
  if (failure.logTail) lines.push(`  ${check.logTitle ?? "log"}:`, ...failure.logTail.map((line) => `  | ${line}`));
  return lines.join("\n");
}

/**
 * The last `count` non-empty lines of `text`, each cut to a readable length and with control characters shown as
 * `?`: the guest decides what it prints, and an escape sequence must not reach the user's terminal.
 */
export function lastLines(text: string, count: number): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/\r$/, "").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?"))
    .filter((line) => line.trim() !== "")
    .slice(-count)
    .map((line) => (line.length > MaxLineChars ? `${line.slice(0, MaxLineChars)}…` : line));
}
