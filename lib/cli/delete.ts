// What `den delete|remove|rm NAME… [-f]` does (declared in delete-command.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { deleteInstance } from "../instance/delete.ts";
import { contextFrom } from "./context.ts";
import type { DeleteOptions } from "./delete-command.ts";

export async function runDelete(names: string[], options: DeleteOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  for (const name of names) {
    await deleteInstance(ctx.denHome, name, { logger: ctx.logger, force: options.force });
    ctx.logger.info(`Deleted instance "${name}"`);
  }
}
