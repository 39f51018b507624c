// One file of an images[] entry (image, kernel or initrd) into the instance folder: a local path, `~/…` or
// file:// URL is copied directly (as Lima, local files are not cached); an http(s) URL goes through the download
// cache and is then copied out of it. Either way the digest is checked and compressed files are decompressed.
import { basename } from "node:path";
import { copyLocalFile } from "./copy-local-file.ts";
import type { DownloadListener } from "./download-event.ts";
import { downloadToCache } from "./download-to-cache.ts";
import { type ImageLocation } from "./image-location.ts";
import type { ProxyEnv } from "./proxy-for-url.ts";

export interface FetchImageFileOptions {
  /** "image", "kernel", "initrd". */
  what: string;
  digest: string | null | undefined;
  decompress: boolean;
  cacheDir: string;
  env: ProxyEnv;
  onEvent?: DownloadListener | undefined;
  signal?: AbortSignal | undefined;
}

export async function fetchImageFile(location: ImageLocation, target: string, options: FetchImageFileOptions): Promise<void> {
  const common = { what: options.what, decompress: options.decompress, signal: options.signal };
  if (location.kind === "local") {
    await copyLocalFile(location.path, target, { ...common, digest: options.digest });
    return;
  }
  const name = remoteFileName(location.url);
  const cached = await downloadToCache(location.url, {
    cacheDir: options.cacheDir,
    label: `${options.what} (${name})`,
    digest: options.digest,
    env: options.env,
    onEvent: options.onEvent,
    signal: options.signal,
  });
  // The cache already verified the digest; the name carries the extension that tells the compression.
  await copyLocalFile(cached.path, target, { ...common, name });
}

/** The last path segment of a URL: `disk.qcow2.xz`. */
export function remoteFileName(url: string): string {
  try {
    return basename(decodeURIComponent(new URL(url).pathname)) || new URL(url).hostname;
  } catch {
    return basename(url);
  }
}
