// What `den prune [--keep-referred]` does (declared in prune-command.ts): frees the download cache. Lima's prune
// removes the whole cache; with --keep-referred it keeps what instances and templates still name and sweeps
// unfinished downloads.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { denCacheDir } from "../images/cache-dir.ts";
import { formatBytes } from "../images/progress-format.ts";
import { pruneCache } from "../images/prune-cache.ts";
import { referredLocations } from "../images/referred-locations.ts";
import { CacheDir, GuestAgentCacheDir, RuntimeDisksDir } from "../store/filenames.ts";
import { contextFrom } from "./context.ts";
import type { PruneOptions } from "./prune-command.ts";

export async function runPrune(options: PruneOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const cacheDir = denCacheDir({ env: ctx.env, platform: process.platform, home: ctx.env.HOME || homedir() });
  const keep = options.keepReferred ? await referredLocations(ctx.denHome) : undefined;
  const result = await pruneCache(cacheDir, { keep });
  const kept = options.keepReferred ? `, kept ${result.keptEntries} (removed ${result.removedPartials} unfinished download files)` : "";
  ctx.logger.info(`Pruned ${cacheDir}: removed ${result.removedEntries} cached files${kept}, freed ${formatBytes(result.freedBytes)}`);
  if (result.busyEntries > 0) ctx.logger.warn(`Skipped ${result.busyEntries} cached files that another den process is downloading`);
  await pruneOtherRuntimeDisks(ctx);
  const { pruneContainerdArchiveDisks } = await import("../containerd/archive-disk.ts");
  const archiveDisks = await pruneContainerdArchiveDisks(ctx.denHome);
  if (archiveDisks.removed.length > 0) ctx.logger.info(`Pruned ${archiveDisks.dir}: removed ${archiveDisks.removed.length} containerd archive disks, freed ${formatBytes(archiveDisks.freedBytes)}`);
}

/** The guest agent runtime disks of other dens (lib/guestagent/prune-runtime-disks.ts says why they are garbage). */
async function pruneOtherRuntimeDisks(ctx: ReturnType<typeof contextFrom>): Promise<void> {
  const [{ pruneRuntimeDisks }, { knownRuntimeSha256s }, { ownRuntimeSha256 }, { nativeAgentTarget }] = await Promise.all([
    import("../guestagent/prune-runtime-disks.ts"),
    import("../guestagent/prepare-guest-agent.ts"),
    import("../guestagent/guest-runtime.ts"),
    import("../guestagent/runtime-manifest.ts"),
  ]);
  const dir = join(ctx.denHome, CacheDir, GuestAgentCacheDir, RuntimeDisksDir);
  if (!existsSync(dir)) return;
  const keep = knownRuntimeSha256s({});
  if (nativeAgentTarget(process.platform, process.arch)) keep.add(await ownRuntimeSha256(ctx.denHome));
  const disks = await pruneRuntimeDisks(dir, { keep, minAgeMs: 0 });
  if (disks.removed.length > 0) ctx.logger.info(`Pruned ${dir}: removed ${disks.removed.length} guest agent runtime disks of other den builds, freed ${formatBytes(disks.freedBytes)}`);
}
