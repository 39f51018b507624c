// Whether a cached download without a digest is still the file the server has. Lima compares Last-Modified from a
// HEAD request; den sends a conditional GET instead (one round trip, and a changed file starts downloading at
// once) and also compares validators itself, for servers that ignore If-None-Match / If-Modified-Since.
import type { Validators } from "./resume-plan.ts";

/** Headers that let the server answer 304 when the cached copy is current. */
export function conditionalHeaders(stored: Validators): Record<string, string> {
  const headers: Record<string, string> = {};
  if (stored.etag) headers["if-none-match"] = stored.etag;
  if (stored.lastModified) headers["if-modified-since"] = stored.lastModified;
  return headers;
}

/**
 * True when the remote validators name the cached version: equal ETags win; otherwise equal Last-Modified
 * dates. Nothing to compare means not fresh, so a server without validators is downloaded again (as Lima does).
 */
export function isCacheFresh(stored: Validators, remote: Validators): boolean {
  if (stored.etag && remote.etag) return weakEtag(stored.etag) === weakEtag(remote.etag);
  if (stored.lastModified && remote.lastModified) {
    const a = Date.parse(stored.lastModified);
    const b = Date.parse(remote.lastModified);
    return Number.isNaN(a) || Number.isNaN(b) ? stored.lastModified === remote.lastModified : a === b;
  }
  return false;
}

/** A weak comparison: a server may mark the same ETag weak after compressing on the fly. */
function weakEtag(etag: string): string {
  return etag.startsWith("W/") ? etag.slice(2) : etag;
}
