// What `den rename OLD NEW [edit flags] [--start]` does (declared in rename-command.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { renameInstance } from "../instance/rename.ts";
import { contextFrom } from "./context.ts";
import { editFlagsFrom } from "./edit-flags-from.ts";
import { startFromCli } from "./start-options.ts";
import type { RenameOptions } from "./rename-command.ts";

export async function runRename(from: string, to: string, options: RenameOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const { warnings } = await renameInstance(ctx.denHome, { from, to }, { flags: editFlagsFrom(options), cwd: ctx.cwd, logger: ctx.logger });
  for (const warning of warnings) ctx.logger.warn(warning);
  ctx.logger.info(`Renamed instance "${from}" to "${to}"`);
  if (options.start) await startFromCli(ctx, to);
}
