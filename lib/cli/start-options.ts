// How every command that starts an instance (`den start`, `restart`, `edit --start`, `clone --start`, `shell --start`…)
// asks for it: progress and warnings through the command's logger, prompts only on a terminal.
import type { StartOptions } from "../instance/start.ts";
import type { CliContext } from "./context.ts";

/** `den start`'s default --timeout, for the commands that start an instance without one. */
export const DefaultStartTimeoutMs = 10 * 60_000;

export function startOptionsFrom(
  ctx: CliContext,
  options: { timeoutMs?: number; foreground?: boolean; stdout?: (text: string) => void } = {},
): StartOptions {
  return {
    timeoutMs: options.timeoutMs ?? DefaultStartTimeoutMs,
    foreground: options.foreground ?? false,
    logger: ctx.logger,
    env: ctx.env,
    progress: (line) => ctx.logger.info(line),
    warn: (line) => ctx.logger.warn(line),
    interactive: ctx.tty,
    stdout: options.stdout ?? ctx.stdout,
    cwd: ctx.cwd,
  };
}

/**
 * Starts instance `name` as `den start NAME` does, for the commands that start one after their own work (`--start` of
 * edit, clone, rename and shell). The start path is loaded only then.
 */
export async function startFromCli(ctx: CliContext, name: string, options: { stdout?: (text: string) => void } = {}): Promise<void> {
  const { startInstance } = await import("../instance/start.ts");
  await startInstance(ctx.denHome, name, startOptionsFrom(ctx, options));
}
