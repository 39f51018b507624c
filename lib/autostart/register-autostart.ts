// Writes or removes an instance's start-at-login file and tells the service manager, as Lima's
// RegisterToStartAtLogin / UnregisterFromStartAtLogin do. Every effect goes through the context, so tests write
// into a temporary folder and never touch the real user's systemd or launchd.
import { dirname } from "node:path";
import { DenError, excerpt } from "../errors.ts";
import type { AutostartPlan } from "./autostart-plan.ts";

export interface AutostartContext {
  writeFile: (path: string, content: string) => Promise<void>;
  /** Removes a file; false when there was none. */
  removeFile: (path: string) => Promise<boolean>;
  mkdir: (path: string) => Promise<void>;
  exists: (path: string) => Promise<boolean>;
  /** The path of a program in PATH, or null. */
  which: (program: string) => string | null;
  /** Runs argv to completion. */
  run: (argv: readonly string[]) => Promise<{ code: number | null; stderrTail: string }>;
}

export interface AutostartOutcome {
  /** Whether the file was written (enable) or there was one to remove (disable). */
  changed: boolean;
  /** Set when the service manager is not installed: the file is in place, but nothing told it. */
  managerMissing?: boolean;
}

/** Writes the file, then runs the plan's enable commands. */
export async function registerAutostart(plan: AutostartPlan, ctx: AutostartContext): Promise<AutostartOutcome> {
  await ctx.mkdir(dirname(plan.path));
  await ctx.writeFile(plan.path, plan.content);
  if (ctx.which(plan.manager) === null) return { changed: true, managerMissing: true };
  for (const argv of plan.enable) await runChecked(argv, ctx);
  return { changed: true };
}

/** Runs the plan's disable commands and removes the file; nothing at all when there is no file. */
export async function unregisterAutostart(plan: AutostartPlan, ctx: AutostartContext): Promise<AutostartOutcome> {
  const managed = ctx.which(plan.manager) !== null;
  if (managed) {
    // Disabling a unit whose file exists is what removes its WantedBy link; a missing file has no link left.
    if (!(await ctx.exists(plan.path))) return { changed: false };
    for (const argv of plan.disable) await runChecked(argv, ctx);
  }
  const removed = await ctx.removeFile(plan.path);
  if (managed) for (const argv of plan.afterRemove) await runChecked(argv, ctx);
  return managed ? { changed: removed } : { changed: removed, managerMissing: true };
}

async function runChecked(argv: readonly string[], ctx: AutostartContext): Promise<void> {
  const result = await ctx.run(argv);
  if (result.code === 0) return;
  const reason = result.stderrTail.trim().split("\n").at(-1) ?? "";
  throw new DenError("AUTOSTART", `Cannot run "${argv.join(" ")}": it exited with status ${result.code}${reason === "" ? "" : `: ${excerpt(reason, 200)}`}`, {
    hint: argv[0] === "systemctl" ? "systemctl --user needs a user session (loginctl enable-linger $USER allows one without a login)" : "launchctl manages the agents of the user logged in at the Mac; run den start-at-login in that session",
  });
}
