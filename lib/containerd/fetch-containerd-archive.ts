// `den start` fetches the guest's containerd archive (nerdctl-full) before anything boots, as Lima's start caches it:
// an http(s) location through den's download cache (one download per URL, resumed, digest-checked), a local one
// checked where it lies. A missing or wrong archive stops the start here, naming the stage, the URL and the digest;
// it is never skipped, since a guest without it would come up without the containerd the template promised.
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import type { FilledDenYaml } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import { denCacheDir } from "../images/cache-dir.ts";
import { formatDigest, hashFile, parseDigest } from "../images/digest.ts";
import type { DownloadListener } from "../images/download-event.ts";
import { downloadToCache } from "../images/download-to-cache.ts";
import { remoteFileName } from "../images/fetch-image-file.ts";
import { parseImageLocation } from "../images/image-location.ts";
import { type ContainerdArchive, containerdArchiveCandidates } from "./containerd-archive-candidates.ts";

/** The boot stage a failure here is reported under. */
export const ContainerdArchiveStage = "containerd archive";

/** A containerd archive on the host, ready to be written to its disk (archive-disk.ts). */
export interface ContainerdArchiveFile {
  /** The file: a download cache entry's `data`, or a local location as written. */
  path: string;
  size: number;
  /** `sha256:<hex>` / `sha512:<hex>` from the configuration, when it gives one. */
  digest: string | undefined;
  /** The configured location, for messages. */
  location: string;
}

export interface ContainerdArchiveContext {
  /** The host user's home folder, for `~/…` locations and the default cache folder. */
  hostHome: string;
  /** Base of relative locations; default the process's working folder. */
  cwd?: string;
  /** Proxy variables and DEN_CACHE_DIR; default the process's environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The download cache; default from `denCacheDir`. */
  cacheDir?: string;
  onEvent?: DownloadListener;
  signal?: AbortSignal;
}

/**
 * Makes the archive for `config.arch` available on the host and returns it; undefined when containerd is off
 * (containerd.system and .user both false, or plain mode). The candidates are tried in order; the first that arrives
 * and matches its digest wins.
 */
export async function fetchContainerdArchive(config: Pick<FilledDenYaml, "containerd" | "plain" | "arch">, ctx: ContainerdArchiveContext): Promise<ContainerdArchiveFile | undefined> {
  const candidates = containerdArchiveCandidates(config);
  if (candidates.length === 0) return undefined;
  const env = ctx.env ?? process.env;
  const resolved = { ...ctx, env, cwd: ctx.cwd ?? process.cwd(), cacheDir: ctx.cacheDir ?? denCacheDir({ env, platform: process.platform, home: ctx.hostHome || homedir() }) };
  const failures: DenError[] = [];
  for (const archive of candidates) {
    try {
      return await fetchOne(archive, resolved);
    } catch (error) {
      if (ctx.signal?.aborted) throw error;
      const failure = archiveError(archive, error);
      failures.push(failure);
      if (archive !== candidates.at(-1)) ctx.onEvent?.({ kind: "warning", message: `${failure.message}; trying the next archive` });
    }
  }
  if (failures.length === 1) throw failures[0];
  throw new DenError("FETCH_FAILED", `Cannot get a containerd archive for arch "${config.arch}": all ${failures.length} containerd.archives entries failed:\n${failures.map((failure) => `  - ${failure.message}`).join("\n")}`, {
    hint: archiveHint(config.arch),
    details: { stage: ContainerdArchiveStage, locations: candidates.map((archive) => archive.location) },
  });
}

async function fetchOne(archive: ContainerdArchive, ctx: ContainerdArchiveContext & { cwd: string; cacheDir: string; env: Readonly<Record<string, string | undefined>> }): Promise<ContainerdArchiveFile> {
  const digest = archive.digest ?? undefined;
  const location = parseImageLocation(archive.location, { home: ctx.hostHome, cwd: ctx.cwd });
  if (location.kind === "local") {
    const info = await stat(location.path);
    if (!info.isFile()) throw new DenError("FILE_NOT_REGULAR", "it is not a regular file");
    if (digest) {
      const expected = formatDigest(parseDigest(digest));
      const actual = await hashFile(location.path, parseDigest(digest).algorithm, ctx.signal);
      if (actual !== expected) throw new DenError("DIGEST_MISMATCH", `expected digest "${expected}", got "${actual}"`, { details: { expected, actual } });
    }
    return { path: location.path, size: info.size, digest, location: archive.location };
  }
  const cached = await downloadToCache(location.url, {
    cacheDir: ctx.cacheDir,
    label: labelOf(location.url),
    digest,
    env: ctx.env,
    onEvent: ctx.onEvent,
    signal: ctx.signal,
  });
  return { path: cached.path, size: (await stat(cached.path)).size, digest, location: archive.location };
}

/** `containerd archive (nerdctl-full-2.3.5-linux-amd64.tar.gz)`: what the progress lines and the downloader's messages call it. */
function labelOf(url: string): string {
  return `${ContainerdArchiveStage} (${remoteFileName(url)})`;
}

/**
 * One entry's failure as the user reads it: the stage, the location and the digest up front, then the reason (the
 * downloader's own "Cannot download <label> "<url>": " prefix is dropped, it would only repeat them).
 */
function archiveError(archive: ContainerdArchive, error: unknown): DenError {
  const inner = error instanceof DenError ? error : undefined;
  let reason = error instanceof Error ? error.message : String(error);
  const label = labelOf(archive.location);
  for (const prefix of [`Cannot download ${label} "${archive.location}": `, `Cannot use ${label} "${archive.location}": `]) {
    if (reason.startsWith(prefix)) reason = reason.slice(prefix.length);
  }
  if (!inner && (error as NodeJS.ErrnoException)?.code === "ENOENT") reason = "no such file";
  const digest = archive.digest ? `digest "${archive.digest}"` : "no digest";
  return new DenError(inner?.code ?? "IO", `Cannot get the ${ContainerdArchiveStage} "${archive.location}" (${digest}) for arch "${archive.arch}": ${reason}`, {
    hint: archiveHint(archive.arch),
    cause: error,
    details: { ...inner?.details, stage: ContainerdArchiveStage, location: archive.location, digest: archive.digest ?? undefined },
  });
}

function archiveHint(arch: string): string {
  return `check the location and digest of the containerd.archives entry for ${arch} in the instance's den.yaml (den edit), or turn containerd off there (containerd: {system: false, user: false}); running den start again resumes a broken download`;
}
