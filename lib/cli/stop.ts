// `den stop [NAME…] [-f]`
import { Command } from "@commander-js/extra-typings";
import { stopInstance } from "../instance/stop.ts";
import { DefaultInstanceName } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";

export function createStopCommand() {
  return new Command("stop")
    .summary("stop instances (default: default)")
    .description("Shut the guest down cleanly and stop its host agent. With -f, kill both at once: use it on a Broken instance.")
    .argument("[instances...]", "instance names", [DefaultInstanceName])
    .option("-f, --force", "kill the VM and the host agent, and remove their pid and socket files")
    .action(async (names, options, self) => {
      const ctx = contextFrom(self);
      for (const name of names.length > 0 ? names : [DefaultInstanceName]) {
        const outcome = await stopInstance(ctx.denHome, name, { logger: ctx.logger, force: options.force });
        if (outcome === "already-stopped") ctx.logger.warn(`Instance "${name}" is already stopped`);
        else ctx.logger.info(`Stopped instance "${name}"`);
      }
    });
}
