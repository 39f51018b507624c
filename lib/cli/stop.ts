// What `den stop [NAME…] [-f]` does (declared in stop-command.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { stopInstance } from "../instance/stop.ts";
import { DefaultInstanceName } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";
import type { StopOptions } from "./stop-command.ts";

export async function runStop(names: string[], options: StopOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  for (const name of names.length > 0 ? names : [DefaultInstanceName]) {
    const outcome = await stopInstance(ctx.denHome, name, { logger: ctx.logger, force: options.force });
    if (outcome === "already-stopped") ctx.logger.warn(`Instance "${name}" is already stopped`);
    else ctx.logger.info(`Stopped instance "${name}"`);
  }
}
