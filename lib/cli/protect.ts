// What `den protect NAME…` / `den unprotect NAME…` do (declared in protect-command.ts): the `protected` marker that
// makes `den delete` refuse.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Protected } from "../store/filenames.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";

/** Runs the verb's change on the marker path of each named instance, in order. */
export async function runProtect(verb: "protect" | "unprotect", names: readonly string[], self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const change = verb === "protect" ? protect : unprotect;
  for (const name of names) await change(join(await existingInstanceDir(ctx.denHome, name), Protected), name, ctx.logger);
}

async function protect(marker: string, name: string, logger: Logger): Promise<void> {
  try {
    await writeFile(marker, "", { mode: 0o400, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw markerError(marker, error);
    logger.warn(`Instance "${name}" is already protected`);
  }
}

async function unprotect(marker: string, name: string, logger: Logger): Promise<void> {
  if (!(await Bun.file(marker).exists())) {
    logger.warn(`Instance "${name}" is not protected`);
    return;
  }
  await rm(marker, { force: true }).catch((error: unknown) => {
    throw markerError(marker, error);
  });
}

function markerError(path: string, error: unknown): DenError {
  return new DenError("IO", `Cannot change "${path}": ${(error as Error).message}`, { cause: error, hint: "check the permissions of the instance folder" });
}
