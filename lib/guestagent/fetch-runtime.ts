// A guest agent runtime this den does not carry (a foreign arch: aarch64 guests on an x86_64 host and the reverse),
// fetched as Lima fetches its "additional guest agents": the release's
// `den-guestagent-runtime-bun-<bunVersion>-<target>.zst`, from DEN_GUESTAGENT_RUNTIME_URL (a base URL or a folder)
// or else the release URL den was built with. A URL goes through den's download cache (one download, resumed,
// checked against the manifest's sha256 before it is kept); a folder's file is checked where it lies.
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { DenError } from "../errors.ts";
import { denCacheDir } from "../images/cache-dir.ts";
import { hashFile } from "../images/digest.ts";
import { downloadToCache } from "../images/download-to-cache.ts";
import { parseImageLocation } from "../images/image-location.ts";
import type { DownloadListener } from "../images/download-event.ts";
import type { RuntimeEntry } from "./runtime-manifest.ts";

export interface FetchRuntimeContext {
  /** DEN_GUESTAGENT_RUNTIME_URL, proxy variables and DEN_CACHE_DIR. */
  env: Readonly<Record<string, string | undefined>>;
  /** The base URL den was built with (the manifest's baseUrl); "" for none. */
  baseUrl: string;
  /** The user's home folder: `~/…` folders and the default download cache. */
  hostHome?: string;
  /** Base of a relative folder; default the process's working folder. */
  cwd?: string;
  /** The download cache; default from denCacheDir. */
  cacheDir?: string;
  onEvent?: DownloadListener;
  signal?: AbortSignal;
}

export const RuntimeUrlVariable = "DEN_GUESTAGENT_RUNTIME_URL";

/** The path of `entry.file`, downloaded into the cache or found in the configured folder, digest checked. */
export async function fetchRuntime(entry: RuntimeEntry, ctx: FetchRuntimeContext): Promise<string> {
  const base = (ctx.env[RuntimeUrlVariable] || ctx.baseUrl).replace(/\/+$/, "");
  if (base === "") {
    throw new DenError("FETCH_FAILED", `Cannot get the guest agent runtime "${entry.file}": this den was built without a download URL for it`, {
      hint: `download ${entry.file} from den's release page and set ${RuntimeUrlVariable} to the folder (or base URL) that holds it`,
      details: { file: entry.file },
    });
  }
  const home = ctx.hostHome || homedir();
  const location = parseImageLocation(`${base}/${entry.file}`, { home, cwd: ctx.cwd ?? process.cwd() });
  const where = location.kind === "remote" ? location.url : location.path;
  try {
    if (location.kind === "local") {
      await checkLocal(location.path, entry, ctx.signal);
      return location.path;
    }
    const cacheDir = ctx.cacheDir ?? denCacheDir({ env: ctx.env, platform: process.platform, home });
    const cached = await downloadToCache(location.url, {
      cacheDir,
      label: `guest agent runtime (${entry.file})`,
      digest: `sha256:${entry.compressedSha256}`,
      env: ctx.env,
      onEvent: ctx.onEvent,
      signal: ctx.signal,
      retries: 1,
    });
    return cached.path;
  } catch (error) {
    const inner = error instanceof DenError ? error : undefined;
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : error instanceof Error ? error.message : String(error);
    throw new DenError(inner?.code ?? "FETCH_FAILED", `Cannot get the guest agent runtime "${entry.file}" from "${where}": ${reason}`, {
      cause: error,
      hint: `den needs it once for guests of this arch: connect to the network and start again, or put ${entry.file} from den's release into a folder and set ${RuntimeUrlVariable} to that folder`,
      details: { file: entry.file, location: where },
    });
  }
}

async function checkLocal(path: string, entry: RuntimeEntry, signal: AbortSignal | undefined): Promise<void> {
  const info = await stat(path);
  if (!info.isFile()) throw new DenError("FILE_NOT_REGULAR", "it is not a regular file");
  const actual = await hashFile(path, "sha256", signal);
  const expected = `sha256:${entry.compressedSha256}`;
  if (actual !== expected) throw new DenError("DIGEST_MISMATCH", `expected digest "${expected}", got "${actual}"`, { details: { expected, actual } });
}

