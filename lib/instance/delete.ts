// `den delete`: remove an instance folder. The folder is first renamed to a hidden name in DEN_HOME, which `den list`
// skips, so an interrupted delete never leaves a half-deleted instance that looks real.
import { randomUUID } from "node:crypto";
import { rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Protected } from "../store/filenames.ts";
import { inspectInstance } from "../store/inspect.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { forceStopInstance } from "./stop.ts";

export interface DeleteOptions {
  logger: Logger;
  /** Also delete an instance that is not Stopped, killing its processes first. */
  force?: boolean | undefined;
}

/** Deletes instance `name` from `denHome`. */
export async function deleteInstance(denHome: string, name: string, options: DeleteOptions): Promise<void> {
  const dir = join(denHome, name);
  const found = await stat(dir).catch(() => undefined);
  if (!found?.isDirectory()) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot delete instance "${name}": it does not exist`, { hint: "see den list for the instances" });
  }
  if (await Bun.file(join(dir, Protected)).exists()) {
    throw new DenError("INSTANCE_PROTECTED", `Cannot delete instance "${name}": it is protected`, { hint: `unprotect it first: den unprotect ${name}` });
  }
  // A `den start` that is preparing the instance holds the lock; deleting under it would leave it writing into nothing.
  await using _lock = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den delete" });
  const info = await inspectInstance(denHome, name);
  if (info.status !== "Stopped") {
    if (!options.force) {
      throw new DenError("INSTANCE_STATE", `Cannot delete instance "${name}": it is ${info.status}`, {
        hint: `stop it first (den stop ${name}), or kill and delete it with den delete -f ${name}`,
      });
    }
    await forceStopInstance(dir, { logger: options.logger });
  }
  const hidden = join(denHome, `.deleting-${name}-${randomUUID()}`);
  try {
    await rename(dir, hidden);
  } catch (error) {
    throw new DenError("IO", `Cannot delete instance "${name}": ${(error as Error).message}`, { cause: error, hint: `check the permissions of ${denHome}` });
  }
  await rm(hidden, { recursive: true, force: true });
}
