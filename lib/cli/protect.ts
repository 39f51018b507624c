// `den protect NAME…` / `den unprotect NAME…`: the `protected` marker that makes `den delete` refuse.
import { Command } from "@commander-js/extra-typings";
import { rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { Protected } from "../store/filenames.ts";
import { contextFrom } from "./context.ts";

export function createProtectCommand() {
  return new Command("protect")
    .summary("protect instances from deletion")
    .argument("<instances...>", "instance names")
    .action(async (names, _options, self) => {
      const ctx = contextFrom(self);
      for (const name of names) {
        const marker = join(await existingInstanceDir(ctx.denHome, name), Protected);
        try {
          await writeFile(marker, "", { mode: 0o400, flag: "wx" });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw markerError(marker, error);
          ctx.logger.warn(`Instance "${name}" is already protected`);
        }
      }
    });
}

export function createUnprotectCommand() {
  return new Command("unprotect")
    .summary("allow instances to be deleted again")
    .argument("<instances...>", "instance names")
    .action(async (names, _options, self) => {
      const ctx = contextFrom(self);
      for (const name of names) {
        const marker = join(await existingInstanceDir(ctx.denHome, name), Protected);
        if (!(await Bun.file(marker).exists())) {
          ctx.logger.warn(`Instance "${name}" is not protected`);
          continue;
        }
        await rm(marker, { force: true }).catch((error: unknown) => {
          throw markerError(marker, error);
        });
      }
    });
}

async function existingInstanceDir(denHome: string, name: string): Promise<string> {
  const dir = join(denHome, name);
  const found = await stat(dir).catch(() => undefined);
  if (!found?.isDirectory()) throw new DenError("INSTANCE_NOT_FOUND", `Cannot find instance "${name}"`, { hint: "see den list for the instances" });
  return dir;
}

function markerError(path: string, error: unknown): DenError {
  return new DenError("IO", `Cannot change "${path}": ${(error as Error).message}`, { cause: error, hint: "check the permissions of the instance folder" });
}
