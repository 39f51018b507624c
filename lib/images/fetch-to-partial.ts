// One HTTP transfer into a cache entry's `data.part`: resumed with Range/If-Range when the partial file allows,
// hashed while it streams (a resumed file's first part is hashed from disk), and checked for completeness. A
// dropped connection leaves the partial file for the next attempt; a digest mismatch deletes it.
import { createReadStream } from "node:fs";
import { open, readFile, rm, stat } from "node:fs/promises";
import { DenError } from "../errors.ts";
import { formatMiB, isNoSpaceError, noSpaceError } from "../fs/no-space-error.ts";
import type { CacheEntry } from "./cache-layout.ts";
import { conditionalHeaders, isCacheFresh } from "./cache-freshness.ts";
import { type Digest, digestHasher, formatDigest } from "./digest.ts";
import type { DownloadListener } from "./download-event.ts";
import { type ProxyEnv, proxyForUrl } from "./proxy-for-url.ts";
import { writeAtomically } from "./write-atomically.ts";
import { expectedTotalBytes, type PartialInfo, resumeDecision, resumeHeaders, type Validators } from "./resume-plan.ts";

export interface FetchToPartialOptions {
  /** For messages and progress: `image (disk.qcow2)`. */
  label: string;
  digest: Digest | undefined;
  env: ProxyEnv;
  /** Validators of the cached `data`: asks the server for 304 when it is current. */
  revalidate?: Validators | undefined;
  onEvent?: DownloadListener | undefined;
  signal?: AbortSignal | undefined;
  /** How long the server may send nothing (no answer, or no byte of the body) before the try fails; 60 s by default. */
  stallTimeoutMs?: number | undefined;
}

export type FetchResult =
  | { kind: "not-modified" }
  | { kind: "complete"; validators: Validators; contentType: string | undefined; digest: string | undefined; bytes: number };

/** Writes are gathered to this size: one syscall per network chunk would cost more than the hashing. */
const WriteBlockBytes = 1 << 20;
/** A server silent this long has stalled: the try fails (retryable) and the next one resumes. */
const DefaultStallTimeoutMs = 60_000;

/** Fetches `url` into `entry.partial`; throws FETCH_FAILED (with `details.retryable`) or DIGEST_MISMATCH. */
export async function fetchToPartial(url: string, entry: CacheEntry, options: FetchToPartialOptions): Promise<FetchResult> {
  let offset = await partialBytes(entry);
  for (let refetched = false; ; refetched = true) {
    const info = offset > 0 ? await readPartialInfo(entry, url) : undefined;
    const range = resumeHeaders(offset, info);
    if (!range.range) offset = 0;
    const conditional = offset === 0 && options.revalidate ? conditionalHeaders(options.revalidate) : {};
    const stall = stallWatch(options.stallTimeoutMs ?? DefaultStallTimeoutMs, options.signal);
    try {
      const result = await transfer(url, entry, { ...options, signal: stall.signal }, { offset, refetched, range, conditional, stall });
      if (result !== "refetch") return result;
      offset = 0;
    } finally {
      stall.stop();
    }
  }
}

interface TransferTry {
  offset: number;
  refetched: boolean;
  range: ReturnType<typeof resumeHeaders>;
  conditional: Record<string, string>;
  stall: StallWatch;
}

/** One request and its body; "refetch" when the partial file no longer matches the server's and was discarded. */
async function transfer(url: string, entry: CacheEntry, options: FetchToPartialOptions, attempt: TransferTry): Promise<FetchResult | "refetch"> {
  const { offset, refetched, range, conditional, stall } = attempt;
  const response = await request(url, { ...range, ...conditional }, options, stall);
  const validators = { etag: response.headers.get("etag") ?? undefined, lastModified: response.headers.get("last-modified") ?? undefined };
  if (response.status === 304 || (response.status === 200 && options.revalidate && isCacheFresh(options.revalidate, validators))) {
    await response.body?.cancel();
    return { kind: "not-modified" };
  }
  const decision = resumeDecision(offset, { status: response.status, contentRange: response.headers.get("content-range") });
  if (decision.kind === "refetch" && !refetched) {
    await response.body?.cancel();
    await discardPartial(entry);
    return "refetch";
  }
  if (decision.kind === "refetch" || decision.kind === "fail") {
    await response.body?.cancel();
    const reason = decision.kind === "fail" ? decision.reason : `${decision.reason}, twice`;
    throw fetchFailed(url, options.label, reason, retryableStatus(response.status));
  }
  const start = decision.kind === "append" ? decision.offset : 0;
  const totalBytes = expectedTotalBytes({ status: response.status, contentRange: response.headers.get("content-range"), contentLength: response.headers.get("content-length") }, start);
  await writeAtomically(entry.partialInfo, JSON.stringify({ url, ...validators, totalBytes } satisfies PartialInfo));
  const digest = await receiveBody(url, response, entry, { ...options, start, totalBytes, stall });
  return { kind: "complete", validators, contentType: response.headers.get("content-type") ?? undefined, digest, bytes: await partialBytes(entry) };
}

async function request(url: string, headers: Record<string, string>, options: FetchToPartialOptions, stall: StallWatch): Promise<Response> {
  try {
    return await fetch(url, {
      // Bytes exactly as the server stores them: the digest is of those, not of a decoded body.
      headers: { "accept-encoding": "identity", "user-agent": "den", ...headers },
      decompress: false,
      redirect: "follow",
      // `false` keeps Bun from applying its own reading of the proxy variables.
      proxy: (proxyForUrl(url, options.env) ?? false) as string,
      ...(options.signal && { signal: options.signal }),
    });
  } catch (error) {
    if (stall.stalled()) throw fetchFailed(url, options.label, `the server did not answer within ${stall.seconds} s`, true, error);
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    throw fetchFailed(url, options.label, (error as Error).message, true, error);
  }
}

async function receiveBody(
  url: string,
  response: Response,
  entry: CacheEntry,
  options: FetchToPartialOptions & { start: number; totalBytes: number | undefined; stall: StallWatch },
): Promise<string | undefined> {
  const hash = options.digest ? digestHasher(options.digest.algorithm) : undefined;
  if (hash && options.start > 0) {
    // Hashing a large resumed part from disk is den's own work, not the server's silence.
    for await (const chunk of createReadStream(entry.partial, { end: options.start - 1 })) {
      hash.update(chunk as Buffer);
      options.stall.touch();
    }
  }
  options.onEvent?.({ kind: "start", label: options.label, url, offset: options.start, totalBytes: options.totalBytes });
  let received = options.start;
  const handle = await open(entry.partial, options.start > 0 ? "a" : "w", 0o644);
  try {
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const block = pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, pendingBytes);
      pending.length = 0;
      pendingBytes = 0;
      let written = 0;
      while (written < block.byteLength) written += (await handle.write(block, written, block.byteLength - written)).bytesWritten;
    };
    try {
      for await (const chunk of response.body ?? []) {
        options.stall.touch();
        const bytes = chunk as Uint8Array;
        hash?.update(bytes);
        pending.push(bytes);
        pendingBytes += bytes.byteLength;
        received += bytes.byteLength;
        if (pendingBytes >= WriteBlockBytes) {
          await flush();
          options.onEvent?.({ kind: "data", receivedBytes: received, totalBytes: options.totalBytes });
        }
      }
      await flush();
    } catch (error) {
      // What arrived is kept: the next attempt asks for the rest.
      const failure = isNoSpaceError(error) ? error : await flush().then(() => error, (flushError: unknown) => flushError);
      if (isNoSpaceError(failure)) throw await cacheFull(entry, options, failure);
      if (options.stall.stalled()) throw fetchFailed(url, options.label, `no data arrived for ${options.stall.seconds} s, after ${received} bytes`, true, error);
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      throw fetchFailed(url, options.label, `the connection broke after ${received} bytes (${(error as Error).message})`, true, error);
    }
    await handle.datasync().catch(async (error: unknown) => {
      throw isNoSpaceError(error) ? await cacheFull(entry, options, error) : error;
    });
  } finally {
    await handle.close();
  }
  if (options.totalBytes !== undefined && received !== options.totalBytes) {
    // More than announced means the partial file is not what the server has: start over next time.
    if (received > options.totalBytes) await discardPartial(entry);
    throw fetchFailed(url, options.label, `the transfer ended after ${received} of ${options.totalBytes} bytes`, true);
  }
  options.onEvent?.({ kind: "done", receivedBytes: received });
  if (!hash || !options.digest) return undefined;
  const actual = `${options.digest.algorithm}:${hash.digest("hex")}`;
  const expected = formatDigest(options.digest);
  if (actual !== expected) {
    await discardPartial(entry);
    throw new DenError("DIGEST_MISMATCH", `Cannot use ${options.label} "${url}": expected digest "${expected}", got "${actual}"`, {
      hint: "the file on the server differs from the one the configuration names: correct the digest in images[], or use another location",
      details: { expected, actual, url },
    });
  }
  return actual;
}

interface StallWatch {
  /** Aborts when the server stalls, or when the caller's signal does. */
  signal: AbortSignal;
  seconds: number;
  /** Data came: the silence starts again. */
  touch(): void;
  stalled(): boolean;
  stop(): void;
}

/**
 * Aborts a transfer whose server sends nothing for `ms`. fetch() has no such limit of its own here, and a server that
 * keeps the connection open without sending would otherwise hold den start until its own timeout, with no reason given.
 */
function stallWatch(ms: number, outer: AbortSignal | undefined): StallWatch {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${ms} ms`)), ms);
  };
  touch();
  return {
    signal: outer ? AbortSignal.any([outer, controller.signal]) : controller.signal,
    seconds: Math.round(ms / 100) / 10,
    touch,
    stalled: () => controller.signal.aborted,
    stop: () => clearTimeout(timer),
  };
}

/**
 * A full cache is no network fault to retry: the error says how much more the file needs. The part already received
 * stays (it is `data.part`, never `data`), so the run after the user freed space resumes rather than starts over.
 */
async function cacheFull(entry: CacheEntry, options: FetchToPartialOptions & { totalBytes: number | undefined }, cause: unknown): Promise<DenError> {
  const kept = await partialBytes(entry);
  const total = options.totalBytes;
  const resume = kept > 0 ? `the ${formatMiB(kept, "down")} already downloaded are kept and the next run resumes from there` : undefined;
  return noSpaceError(entry.partial, {
    what: options.label,
    neededBytes: total === undefined ? kept : total - kept,
    atLeast: total === undefined,
    more: total !== undefined && kept > 0,
    ...(resume && { hint: resume }),
    cause,
  });
}

export function fetchFailed(url: string, label: string, reason: string, retryable: boolean, cause?: unknown): DenError {
  return new DenError("FETCH_FAILED", `Cannot download ${label} "${url}": ${reason}`, {
    hint: "check the network and the location in images[]; running the command again resumes from the part already downloaded",
    details: { url, retryable },
    ...(cause !== undefined && { cause }),
  });
}

function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429 || status === 206 || status === 416;
}

async function partialBytes(entry: CacheEntry): Promise<number> {
  try {
    return (await stat(entry.partial)).size;
  } catch {
    return 0;
  }
}

async function readPartialInfo(entry: CacheEntry, url: string): Promise<PartialInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(entry.partialInfo, "utf8")) as PartialInfo;
    return info.url === url ? info : undefined;
  } catch {
    return undefined;
  }
}

export async function discardPartial(entry: CacheEntry): Promise<void> {
  await Promise.all([rm(entry.partial, { force: true }), rm(entry.partialInfo, { force: true })]);
}
