// The two calls the instance lifecycle makes: lock an instance's additionalDisks when it starts, release them when it
// stops (host agent exit, `den stop -f`, a start that failed before the host agent ran). Releasing never throws: it
// runs on the way out, where a leftover lock is reported with what to do rather than hiding the real outcome.
import type { FilledDisk } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { lockDisks, releaseDisks } from "./disk-lock.ts";

/** Locks every disk in `disks` for the instance in `instanceDir` (all or none); see lockDisks() for the errors. */
export async function lockInstanceDisks(denHome: string, instanceDir: string, options: { disks: readonly FilledDisk[]; logger: Pick<Logger, "warn"> }): Promise<void> {
  await lockDisks(
    denHome,
    instanceDir,
    options.disks.map((disk) => disk.name),
    { logger: options.logger },
  );
}

/** Releases every disk lock held by the instance in `instanceDir`; a failure is logged as a warning with the fix. */
export async function releaseInstanceDisks(denHome: string, instanceDir: string, options: { logger: Pick<Logger, "info" | "warn"> }): Promise<void> {
  try {
    const released = await releaseDisks(denHome, instanceDir);
    if (released.length > 0) options.logger.info(`Released disk ${released.map((name) => `"${name}"`).join(", ")}`);
  } catch (error) {
    const hint = error instanceof Error && "hint" in error && typeof error.hint === "string" ? ` (${error.hint})` : "";
    options.logger.warn(`${error instanceof Error ? error.message : String(error)}${hint}`);
  }
}
