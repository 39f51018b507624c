// What `den clone OLD NEW [edit flags] [--start]` does (declared in clone-command.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { cloneInstance } from "../instance/clone.ts";
import type { CloneOptions } from "./clone-command.ts";
import { contextFrom } from "./context.ts";
import { editFlagsFrom } from "./edit-flags-from.ts";
import { startFromCli } from "./start-options.ts";

export async function runClone(from: string, to: string, options: CloneOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const { warnings } = await cloneInstance(ctx.denHome, { from, to }, { flags: editFlagsFrom(options), cwd: ctx.cwd, logger: ctx.logger });
  for (const warning of warnings) ctx.logger.warn(warning);
  ctx.logger.info(`Cloned instance "${from}" to "${to}"`);
  if (options.start) await startFromCli(ctx, to);
  else ctx.logger.info(`Run "den start ${to}" to start it`);
}
