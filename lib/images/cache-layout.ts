// The download cache's layout, Lima's `download/by-url-sha256/<sha256(url)>/` so the same facts are in the same
// places: `url` (without a newline), `data`, `<algo>.digest` (`sha256:<hex>`), `time` (the Last-Modified header),
// `type` (Content-Type). den adds `etag` for revalidation and `data.part` (+ `data.part.json`, the response it
// belongs to) so an interrupted download can resume; Lima ignores files it does not know.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { InstanceLockFile } from "../store/filenames.ts";
import type { DigestAlgorithm } from "./digest.ts";

/** Folder of entries under the cache root. */
export const ByUrlDir = join("download", "by-url-sha256");

export interface CacheEntry {
  dir: string;
  url: string;
  data: string;
  time: string;
  type: string;
  etag: string;
  /** Bytes received so far of an unfinished download. */
  partial: string;
  /** JSON `PartialInfo` describing the response `partial` holds. */
  partialInfo: string;
}

/** Hex sha256 of the URL exactly as written, Lima's key. */
export function cacheKey(url: string): string {
  return createHash("sha256").update(url).digest("hex");
}

export function cacheEntry(cacheDir: string, url: string): CacheEntry {
  const dir = join(cacheDir, ByUrlDir, cacheKey(url));
  return {
    dir,
    url: join(dir, "url"),
    data: join(dir, "data"),
    time: join(dir, "time"),
    type: join(dir, "type"),
    etag: join(dir, "etag"),
    partial: join(dir, "data.part"),
    partialInfo: join(dir, "data.part.json"),
  };
}

/** `<entry>/sha256.digest`, holding `sha256:<hex>` of `data`. */
export function digestFile(entry: CacheEntry, algorithm: DigestAlgorithm): string {
  return join(entry.dir, `${algorithm}.digest`);
}

/**
 * Files of an unfinished download: den's `data.part*`, Lima's `data.tmp.*`, and temporaries of den's small writes.
 * The lock's own temporaries are not: another process may be about to link one into place.
 */
export function isPartialFileName(name: string): boolean {
  if (name.startsWith(InstanceLockFile)) return false;
  return name === "data.part" || name === "data.part.json" || name.startsWith("data.tmp.") || name.endsWith(".tmp");
}
