// What `den factory-reset [NAME]` does (declared in factory-reset-command.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { factoryResetInstance } from "../instance/factory-reset.ts";
import { contextFrom } from "./context.ts";

export async function runFactoryReset(name: string, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  await factoryResetInstance(ctx.denHome, name, { logger: ctx.logger });
  ctx.logger.info(`Instance "${name}" has been factory reset`);
}
