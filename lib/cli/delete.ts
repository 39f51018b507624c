// `den delete|remove|rm NAME… [-f]`
import { Command } from "@commander-js/extra-typings";
import { deleteInstance } from "../instance/delete.ts";
import { contextFrom } from "./context.ts";

export function createDeleteCommand() {
  return new Command("delete")
    .aliases(["remove", "rm"])
    .summary("delete instances")
    .description("Delete the instance folders, disks included. Protected instances are refused; running ones need -f.")
    .argument("<instances...>", "instance names")
    .option("-f, --force", "delete even when not stopped (kills the VM first)")
    .action(async (names, options, self) => {
      const ctx = contextFrom(self);
      for (const name of names) {
        await deleteInstance(ctx.denHome, name, { logger: ctx.logger, force: options.force });
        ctx.logger.info(`Deleted instance "${name}"`);
      }
    });
}
