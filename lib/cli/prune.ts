// `den prune [--keep-referred]`: frees the download cache. Lima's prune removes the whole cache; with
// --keep-referred it keeps what instances and templates still name and sweeps unfinished downloads.
import { Command } from "@commander-js/extra-typings";
import { homedir } from "node:os";
import { denCacheDir } from "../images/cache-dir.ts";
import { formatBytes } from "../images/progress-format.ts";
import { pruneCache } from "../images/prune-cache.ts";
import { referredLocations } from "../images/referred-locations.ts";
import { contextFrom } from "./context.ts";

export function createPruneCommand() {
  return new Command("prune")
    .summary("free the download cache")
    .description(
      "Remove the downloaded images (and kernels, initrds, firmware) from den's cache. With --keep-referred, keep the\n" +
        "files that instances or templates still name, and remove only unfinished downloads from those.",
    )
    .option("--keep-referred", "keep files referred to by instances or templates")
    .action(async (options, self) => {
      const ctx = contextFrom(self);
      const cacheDir = denCacheDir({ env: ctx.env, platform: process.platform, home: ctx.env.HOME || homedir() });
      const keep = options.keepReferred ? await referredLocations(ctx.denHome) : undefined;
      const result = await pruneCache(cacheDir, { keep });
      const kept = options.keepReferred ? `, kept ${result.keptEntries} (removed ${result.removedPartials} unfinished download files)` : "";
      ctx.logger.info(`Pruned ${cacheDir}: removed ${result.removedEntries} cached files${kept}, freed ${formatBytes(result.freedBytes)}`);
      if (result.busyEntries > 0) ctx.logger.warn(`Skipped ${result.busyEntries} cached files that another den process is downloading`);
    });
}
