// A remote file in den's download cache, the way a careful package manager fetches: one process per cache entry
// at a time (others wait and use its result), a hit checked by digest or revalidated with the server, interrupted
// transfers resumed, and `data` replaced only by a complete, verified file.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { sleep } from "../process/sleep.ts";
import { ensurePrivateDir } from "../store/dirs.ts";
import { acquireInstanceLock, type InstanceLock } from "../store/instance-lock.ts";
import { type CacheEntry, cacheEntry, digestFile } from "./cache-layout.ts";
import { type Digest, formatDigest, hashFile, parseDigest } from "./digest.ts";
import type { DownloadListener } from "./download-event.ts";
import { fetchToPartial } from "./fetch-to-partial.ts";
import type { ProxyEnv } from "./proxy-for-url.ts";
import type { Validators } from "./resume-plan.ts";
import { writeAtomically } from "./write-atomically.ts";

export interface DownloadToCacheOptions {
  cacheDir: string;
  /** For messages and progress: `image (disk.qcow2)`. */
  label: string;
  /** `sha256:<hex>` / `sha512:<hex>` of the file as the server has it. */
  digest?: string | null | undefined;
  env: ProxyEnv;
  onEvent?: DownloadListener | undefined;
  signal?: AbortSignal | undefined;
  /** Further attempts after a dropped or failed transfer, each resuming (default 3). */
  retries?: number;
  /** Wait before the first retry, doubled for each further one (default 1 s). */
  retryDelayMs?: number;
  /** How long a server may send nothing before the attempt fails and is retried (default 60 s). */
  stallTimeoutMs?: number | undefined;
}

export interface DownloadToCacheResult {
  /** The cached file (`<entry>/data`). */
  path: string;
  fromCache: boolean;
}

const DefaultRetries = 3;
const DefaultRetryDelayMs = 1_000;

export async function downloadToCache(url: string, options: DownloadToCacheOptions): Promise<DownloadToCacheResult> {
  const digest = options.digest ? parseDigest(options.digest) : undefined;
  const entry = cacheEntry(options.cacheDir, url);
  // The cache holds what will boot as the guest's disk: another local user must not swap it (Lima: 0700 too).
  await ensurePrivateDir(entry.dir);
  const hadData = existsSync(entry.data);
  const { lock, waited } = await lockEntry(entry, options);
  try {
    if (!existsSync(entry.url)) await writeAtomically(entry.url, url);
    if (existsSync(entry.data)) {
      // Another process finished this very download while this one waited: trust it as it is.
      const fresh = waited && !hadData;
      const state = await cachedState(url, entry, digest, fresh, options);
      if (state === "current") options.onEvent?.({ kind: "cached", label: options.label, url });
      if (state !== "stale") return { path: entry.data, fromCache: state === "current" };
    }
    await transferWithRetries(url, entry, digest, options);
    return { path: entry.data, fromCache: false };
  } finally {
    await lock.release();
  }
}

async function lockEntry(entry: CacheEntry, options: DownloadToCacheOptions): Promise<{ lock: InstanceLock; waited: boolean }> {
  const owner = `den download ${options.label}`;
  try {
    return { lock: await acquireInstanceLock(entry.dir, { timeoutMs: 0, owner }), waited: false };
  } catch (error) {
    if (!(error instanceof DenError) || error.code !== "INSTANCE_LOCKED") throw error;
  }
  options.onEvent?.({ kind: "waiting", label: options.label });
  // No time limit: a large image takes as long as it takes, and a holder that dies frees the lock at once.
  return { lock: await acquireInstanceLock(entry.dir, { timeoutMs: Number.POSITIVE_INFINITY, owner, signal: options.signal }), waited: true };
}

/**
 * Whether the cached `data` may be used: "current" when its digest is known and equal, or (without a digest) the
 * server says it is unchanged; "replaced" when revalidation found a newer file and downloaded it; else "stale".
 */
async function cachedState(
  url: string,
  entry: CacheEntry,
  digest: Digest | undefined,
  justDownloaded: boolean,
  options: DownloadToCacheOptions,
): Promise<"current" | "replaced" | "stale"> {
  if (digest) {
    const recorded = await readOptional(digestFile(entry, digest.algorithm));
    if (recorded !== undefined) return recorded.trim() === formatDigest(digest) ? "current" : "stale";
    // Downloaded earlier without a digest: hash it once and remember.
    const actual = await hashFile(entry.data, digest.algorithm, options.signal);
    if (actual !== formatDigest(digest)) return "stale";
    await writeAtomically(digestFile(entry, digest.algorithm), actual);
    return "current";
  }
  if (justDownloaded) return "current";
  const stored = { etag: await readOptional(entry.etag), lastModified: await readOptional(entry.time) };
  try {
    const result = await fetchToPartial(url, entry, { label: options.label, digest: undefined, env: options.env, revalidate: stored, onEvent: options.onEvent, signal: options.signal, stallTimeoutMs: options.stallTimeoutMs });
    if (result.kind === "not-modified") return "current";
    await commit(entry, result, undefined);
    return "replaced";
  } catch (error) {
    if (!(error instanceof DenError) || error.code !== "FETCH_FAILED" || !existsSync(entry.data)) throw error;
    // Offline: the copy in the cache is better than no start at all.
    options.onEvent?.({ kind: "warning", message: `cannot check whether the cached ${options.label} is current (${error.message}); using the cached copy` });
    return "current";
  }
}

async function transferWithRetries(url: string, entry: CacheEntry, digest: Digest | undefined, options: DownloadToCacheOptions): Promise<void> {
  const retries = options.retries ?? DefaultRetries;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await fetchToPartial(url, entry, { label: options.label, digest, env: options.env, onEvent: options.onEvent, signal: options.signal, stallTimeoutMs: options.stallTimeoutMs });
      if (result.kind === "complete") await commit(entry, result, digest);
      return;
    } catch (error) {
      const retryable = error instanceof DenError && error.code === "FETCH_FAILED" && error.details?.retryable === true;
      if (!retryable || attempt >= retries || options.signal?.aborted) throw error;
      const delayMs = (options.retryDelayMs ?? DefaultRetryDelayMs) * 2 ** attempt;
      options.onEvent?.({ kind: "retry", label: options.label, attempt: attempt + 2, reason: (error as DenError).message, delayMs });
      await sleep(delayMs, options.signal);
    }
  }
}

/** Moves a complete `data.part` into place with the facts of its response. */
async function commit(
  entry: CacheEntry,
  result: { validators: Validators; contentType: string | undefined; digest: string | undefined },
  digest: Digest | undefined,
): Promise<void> {
  // Digests of the previous `data` no longer hold.
  for (const name of await readdir(entry.dir)) if (name.endsWith(".digest")) await rm(join(entry.dir, name), { force: true });
  await rename(entry.partial, entry.data);
  await rm(entry.partialInfo, { force: true });
  await writeOrRemove(entry.time, result.validators.lastModified);
  await writeOrRemove(entry.etag, result.validators.etag);
  await writeOrRemove(entry.type, result.contentType);
  if (digest && result.digest) await writeAtomically(digestFile(entry, digest.algorithm), result.digest);
}

async function writeOrRemove(path: string, text: string | undefined): Promise<void> {
  if (text === undefined) await rm(path, { force: true });
  else await writeAtomically(path, text);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}
