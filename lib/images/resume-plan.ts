// Whether and how an interrupted download continues. A partial file is only resumed against a validator
// (a strong ETag, else Last-Modified) sent as If-Range: the server then returns the rest only if the file is
// still the same one, and the whole file otherwise, so bytes of two versions are never glued together.

/** What identifies one version of a remote file. */
export interface Validators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** The `data.part.json` of a cache entry: the response that `data.part` holds the start of. */
export interface PartialInfo extends Validators {
  url: string;
  /** The full length of the file, when the server said it. */
  totalBytes?: number | undefined;
}

/** Request headers for a download that already has `partialBytes` bytes of the response `info` describes. */
export function resumeHeaders(partialBytes: number, info: PartialInfo | undefined): Record<string, string> {
  if (partialBytes <= 0 || !info) return {};
  const validator = info.etag && !info.etag.startsWith("W/") ? info.etag : info.lastModified;
  // Without a validator the server cannot tell whether the file changed, so resuming could corrupt it.
  if (!validator) return {};
  return { range: `bytes=${partialBytes}-`, "if-range": validator };
}

export type ResumeDecision =
  /** The body continues the partial file at `offset`. */
  | { kind: "append"; offset: number }
  /** The body is the whole file: start the partial file over. */
  | { kind: "replace" }
  /** The body cannot be used: drop the partial file and ask again without a range. */
  | { kind: "refetch"; reason: string }
  | { kind: "fail"; reason: string };

export interface ResponseFacts {
  status: number;
  /** The Content-Range header, if any. */
  contentRange: string | null;
}

/** What to do with a response to a request that asked for the bytes from `requestedOffset` on (0: the whole file). */
export function resumeDecision(requestedOffset: number, response: ResponseFacts): ResumeDecision {
  const { status } = response;
  if (status === 200) return { kind: "replace" };
  if (status === 206) {
    const range = parseContentRange(response.contentRange);
    if (requestedOffset > 0 && range?.start === requestedOffset) return { kind: "append", offset: requestedOffset };
    return { kind: "refetch", reason: `the server sent the range "${response.contentRange ?? ""}" for a request from byte ${requestedOffset}` };
  }
  // 416: the partial file is not a prefix of what the server has now (it shrank, or was replaced).
  if (status === 416 && requestedOffset > 0) return { kind: "refetch", reason: "the server refused the range of the partial download" };
  return { kind: "fail", reason: `HTTP ${status}` };
}

/** `bytes 100-199/1000` → {start: 100, end: 199, total: 1000}; `total` is undefined for `*`. */
export function parseContentRange(header: string | null): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header?.trim() ?? "");
  if (!match) return undefined;
  const [, start, end, total] = match as unknown as [string, string, string, string];
  return { start: Number(start), end: Number(end), total: total === "*" ? undefined : Number(total) };
}

/** The length of the complete file, from a 200's Content-Length or a 206's Content-Range; undefined when unknown. */
export function expectedTotalBytes(response: ResponseFacts & { contentLength: string | null }, offset: number): number | undefined {
  if (response.status === 206) {
    const range = parseContentRange(response.contentRange);
    if (range?.total !== undefined) return range.total;
    return response.contentLength !== null && /^\d+$/.test(response.contentLength) ? offset + Number(response.contentLength) : undefined;
  }
  return response.contentLength !== null && /^\d+$/.test(response.contentLength) ? Number(response.contentLength) : undefined;
}
