// `den delete`: remove an instance folder. The folder is first renamed to a hidden name in DEN_HOME, which `den list`
// skips, so an interrupted delete never leaves a half-deleted instance that looks real.
import { randomUUID } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { CacheDir, ListCacheDir, Protected } from "../store/filenames.ts";
import { inspectInstance } from "../status/inspect.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import type { ProcessReader } from "../store/pid-file.ts";
import { forceStopInstance } from "./stop.ts";

export interface DeleteOptions {
  logger: Logger;
  /** Also delete an instance that is not Stopped, killing its processes first. */
  force?: boolean | undefined;
  /** How process command lines and start times are read before a PID is trusted; the host's by default. */
  readProcess?: ProcessReader | undefined;
}

/** Deletes instance `name` from `denHome`. */
export async function deleteInstance(denHome: string, name: string, options: DeleteOptions): Promise<void> {
  // Only a real instance folder directly inside DEN_HOME: never `..`, `_config` or a link leading elsewhere.
  const dir = await existingInstanceDir(denHome, name, { action: "delete" });
  if (await Bun.file(join(dir, Protected)).exists()) {
    throw new DenError("INSTANCE_PROTECTED", `Cannot delete instance "${name}": it is protected`, { hint: `unprotect it first: den unprotect ${name}` });
  }
  // A `den start` that is preparing the instance holds the lock; deleting under it would leave it writing into nothing.
  await using _lock = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den delete" });
  const info = await inspectInstance(denHome, name, { logger: options.logger, readProcess: options.readProcess });
  if (info.status !== "Stopped") {
    if (!options.force) {
      throw new DenError("INSTANCE_STATE", `Cannot delete instance "${name}": it is ${info.status}`, {
        hint: `stop it first (den stop ${name}), or kill and delete it with den delete -f ${name}`,
      });
    }
    await forceStopInstance(dir, { logger: options.logger, readProcess: options.readProcess });
  }
  const hidden = join(denHome, `.deleting-${name}-${randomUUID()}`);
  try {
    await rename(dir, hidden);
  } catch (error) {
    throw new DenError("IO", `Cannot delete instance "${name}": ${(error as Error).message}`, { cause: error, hint: `check the permissions of ${denHome}` });
  }
  await rm(hidden, { recursive: true, force: true });
  // `den list`'s filled configuration of it would never match again (the key holds den.yaml's inode); it only takes room.
  await rm(join(denHome, CacheDir, ListCacheDir, `${name}.json`), { force: true });
}
