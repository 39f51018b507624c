// The host agent's side of the containerd archive: `den start` fetched it before launching the host agent, so here it
// is only looked up (never downloaded) for its disk. A remote archive counts only when its cache entry is complete
// and, when the configuration gives a digest, recorded with that digest.
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import type { FilledDenYaml } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import { denCacheDir } from "../images/cache-dir.ts";
import { cacheEntry, digestFile } from "../images/cache-layout.ts";
import { formatDigest, parseDigest } from "../images/digest.ts";
import { parseImageLocation } from "../images/image-location.ts";
import { type ContainerdArchive, containerdArchiveCandidates } from "./containerd-archive-candidates.ts";
import { type ContainerdArchiveFile, ContainerdArchiveStage } from "./fetch-containerd-archive.ts";

export interface CachedArchiveContext {
  hostHome: string;
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  cacheDir?: string;
}

/**
 * The archive `den start` made available for `config.arch` (the first candidate that is there); undefined when
 * containerd is off. Throws FETCH_FAILED when containerd is on and none is there: the guest must not boot
 * without the containerd its configuration asks for.
 */
export async function cachedContainerdArchive(config: Pick<FilledDenYaml, "containerd" | "plain" | "arch">, ctx: CachedArchiveContext): Promise<ContainerdArchiveFile | undefined> {
  const candidates = containerdArchiveCandidates(config);
  if (candidates.length === 0) return undefined;
  const env = ctx.env ?? process.env;
  const cacheDir = ctx.cacheDir ?? denCacheDir({ env, platform: process.platform, home: ctx.hostHome || homedir() });
  for (const archive of candidates) {
    const path = await availablePath(archive, { home: ctx.hostHome, cwd: ctx.cwd ?? process.cwd(), cacheDir });
    if (path !== undefined) return { path, size: (await stat(path)).size, digest: archive.digest ?? undefined, location: archive.location };
  }
  const where = candidates.map((archive) => `"${archive.location}"`).join(", ");
  throw new DenError("FETCH_FAILED", `Cannot find the ${ContainerdArchiveStage} for arch "${config.arch}" in the download cache (${cacheDir}): ${where} ${candidates.length === 1 ? "is" : "are"} not there`, {
    hint: "den start downloads it before it launches the host agent; run den start again (den prune removes the cache)",
    details: { stage: ContainerdArchiveStage, locations: candidates.map((archive) => archive.location) },
  });
}

async function availablePath(archive: ContainerdArchive, where: { home: string; cwd: string; cacheDir: string }): Promise<string | undefined> {
  const location = parseImageLocation(archive.location, where);
  if (location.kind === "local") return (await isFile(location.path)) ? location.path : undefined;
  const entry = cacheEntry(where.cacheDir, location.url);
  if (!existsSync(entry.data)) return undefined;
  if (archive.digest) {
    const digest = parseDigest(archive.digest);
    const recorded = await readFile(digestFile(entry, digest.algorithm), "utf8").catch(() => undefined);
    if (recorded?.trim() !== formatDigest(digest)) return undefined;
  }
  return entry.data;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
