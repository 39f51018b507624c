// `den protect NAME…` / `den unprotect NAME…`: the `protected` marker that makes `den delete` refuse.
import { Command } from "@commander-js/extra-typings";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Protected } from "../store/filenames.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";

export function createProtectCommand() {
  return markerCommand("protect", "protect instances from deletion", async (marker, name, logger) => {
    try {
      await writeFile(marker, "", { mode: 0o400, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw markerError(marker, error);
      logger.warn(`Instance "${name}" is already protected`);
    }
  });
}

export function createUnprotectCommand() {
  return markerCommand("unprotect", "allow instances to be deleted again", async (marker, name, logger) => {
    if (!(await Bun.file(marker).exists())) {
      logger.warn(`Instance "${name}" is not protected`);
      return;
    }
    await rm(marker, { force: true }).catch((error: unknown) => {
      throw markerError(marker, error);
    });
  });
}

/** A command that runs `change` on the marker path of each named instance, in order. */
function markerCommand(verb: "protect" | "unprotect", summary: string, change: (marker: string, name: string, logger: Logger) => Promise<void>) {
  return new Command(verb)
    .summary(summary)
    .argument("<instances...>", "instance names")
    .action(async (names, _options, self) => {
      const ctx = contextFrom(self);
      for (const name of names) await change(join(await existingInstanceDir(ctx.denHome, name), Protected), name, ctx.logger);
    });
}

function markerError(path: string, error: unknown): DenError {
  return new DenError("IO", `Cannot change "${path}": ${(error as Error).message}`, { cause: error, hint: "check the permissions of the instance folder" });
}
