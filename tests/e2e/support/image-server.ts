// A local HTTP server for image downloads in tests: serves files from disk (the test guest's disk, kernel, initrd)
// or from memory, with Range/If-Range, ETag/Last-Modified and conditional GETs, and can misbehave on request:
// drop the connection after some bytes, send wrong bytes, leave out Content-Length, or ignore Range. It counts
// requests and body bytes per file, so tests can check what went over the wire.
// Run directly (`bun tests/e2e/support/image-server.ts FILE...`) it serves those files in its own process and
// prints one `<name> <url>` line per file; the download benchmark uses that.
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { basename } from "node:path";
import { Readable } from "node:stream";

export interface ServedFile {
  /** A file on disk, streamed from there; or `bytes` in memory. */
  path?: string;
  bytes?: Uint8Array;
  contentType?: string;
  /** Default: derived from size and modification time. `null` sends none. */
  etag?: string | null;
  /** Default: the file's mtime (or a fixed date for bytes). `null` sends none. */
  lastModified?: string | null;
}

export interface Fault {
  /** Close the connection after this many body bytes of a response. */
  dropAfterBytes?: number;
  /** Send this many body bytes, then nothing more until the client goes away (a test kills the client). */
  stallAfterBytes?: number;
  /** Flip the bits of one byte in the middle of the body (length unchanged). */
  wrongBytes?: boolean;
  omitContentLength?: boolean;
  /** Answer every Range request with the whole file (200). */
  refuseRange?: boolean;
  /** Answer with this status and no body. */
  status?: number;
  /** Apply to this many more GET requests, then behave (default: every request). */
  times?: number;
}

export interface ServedRequest {
  name: string;
  method: string;
  range: string | null;
  status: number;
  /** Body bytes the server sent (for a drop: up to the drop). */
  bytes: number;
}

export interface ImageServer {
  readonly origin: string;
  url(name: string): string;
  add(name: string, file: ServedFile): void;
  fault(name: string, fault: Fault | undefined): void;
  readonly requests: ServedRequest[];
  /** GET requests for `name`. */
  requestCount(name: string): number;
  /** Body bytes sent for `name` across all requests. */
  bytesServed(name: string): number;
  stop(): Promise<void>;
}

const FixedDate = "Wed, 01 Jan 2025 00:00:00 GMT";


export async function startImageServer(files: Record<string, ServedFile> = {}): Promise<ImageServer> {
  const served = new Map(Object.entries(files));
  const faults = new Map<string, Fault>();
  const requests: ServedRequest[] = [];

  // node:http rather than Bun.serve: a test needs to cut the connection mid-body (socket.destroy()), and to send
  // exactly the headers it chose (Bun.serve turns a streamed body into chunked encoding).
  const server = createServer((request, response) => {
    const name = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname.slice(1));
    const method = request.method ?? "GET";
    const header = (key: string): string | undefined => {
      const value = request.headers[key];
      return Array.isArray(value) ? value[0] : value;
    };
    const entry: ServedRequest = { name, method, range: header("range") ?? null, status: 0, bytes: 0 };
    requests.push(entry);
    const reply = (status: number, headers: Record<string, string> = {}, body?: string): void => {
      entry.status = status;
      response.writeHead(status, headers);
      response.end(body);
    };
    const file = served.get(name);
    if (!file) return reply(404, {}, "not found");
    const fault = method === "GET" ? takeFault(faults, name) : undefined;
    if (fault?.status) return reply(fault.status);

    const info = file.path ? statSync(file.path) : undefined;
    const size = info ? info.size : (file.bytes as Uint8Array).byteLength;
    const etag = file.etag === undefined ? `"${size.toString(16)}-${Math.floor(info?.mtimeMs ?? 0).toString(16)}"` : file.etag;
    const lastModified = file.lastModified === undefined ? (info ? info.mtime.toUTCString() : FixedDate) : file.lastModified;
    const headers: Record<string, string> = { "content-type": file.contentType ?? "application/octet-stream", "accept-ranges": "bytes" };
    if (etag) headers.etag = etag;
    if (lastModified) headers["last-modified"] = lastModified;

    const ifNoneMatch = header("if-none-match");
    const ifModifiedSince = header("if-modified-since");
    if ((ifNoneMatch && ifNoneMatch === etag) || (!ifNoneMatch && ifModifiedSince && lastModified && Date.parse(ifModifiedSince) >= Date.parse(lastModified))) {
      return reply(304, headers);
    }

    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(header("range") ?? "");
    const ifRange = header("if-range");
    if (range && !fault?.refuseRange && (!ifRange || ifRange === etag || ifRange === lastModified)) {
      start = Number(range[1]);
      if (start >= size) return reply(416, { ...headers, "content-range": `bytes */${size}` });
      status = 206;
      headers["content-range"] = `bytes ${start}-${size - 1}/${size}`;
    }
    if (!fault?.omitContentLength) headers["content-length"] = String(size - start);
    entry.status = status;
    response.writeHead(status, headers);
    if (method === "HEAD") return void response.end();

    const source = file.path ? createReadStream(file.path, { start, highWaterMark: 1 << 20 }) : Readable.from([Buffer.from((file.bytes as Uint8Array).subarray(start))]);
    const middle = Math.floor(size / 2) - start;
    let sent = 0;
    let dropped = false;
    // Where the body stops early: after a drop the connection breaks, after a stall it stays open.
    const cuts = [
      { at: fault?.dropAfterBytes, breaks: true },
      { at: fault?.stallAfterBytes, breaks: false },
    ].filter((cut): cut is { at: number; breaks: boolean } => cut.at !== undefined);
    source.on("data", (data: Buffer | string) => {
      if (dropped) return;
      let chunk = data as Buffer;
      const cut = cuts.find(({ at }) => sent + chunk.byteLength >= at);
      if (cut) {
        chunk = chunk.subarray(0, Math.max(0, cut.at - sent));
        sent += chunk.byteLength;
        entry.bytes = sent;
        dropped = true;
        source.destroy();
        // The bytes leave first; a drop then breaks the connection without ending the response.
        response.write(chunk);
        if (cut.breaks) setTimeout(() => response.destroy(), 50);
        return;
      }
      if (fault?.wrongBytes && middle >= sent && middle < sent + chunk.byteLength) {
        chunk = Buffer.from(chunk);
        chunk[middle - sent] = (chunk[middle - sent] as number) ^ 0xff;
      }
      sent += chunk.byteLength;
      entry.bytes = sent;
      if (!response.write(chunk)) {
        source.pause();
        response.once("drain", () => source.resume());
      }
    });
    source.on("end", () => dropped || response.end());
    response.on("close", () => source.destroy());
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (name) => `${origin}/${encodeURIComponent(name)}`,
    add: (name, file) => void served.set(name, file),
    fault: (name, fault) => void (fault ? faults.set(name, { ...fault }) : faults.delete(name)),
    requests,
    requestCount: (name) => requests.filter((r) => r.name === name && r.method === "GET").length,
    bytesServed: (name) => requests.filter((r) => r.name === name).reduce((sum, r) => sum + r.bytes, 0),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function takeFault(faults: Map<string, Fault>, name: string): Fault | undefined {
  const fault = faults.get(name);
  if (!fault) return undefined;
  if (fault.times !== undefined) {
    fault.times--;
    if (fault.times <= 0) faults.delete(name);
  }
  return fault;
}

if (import.meta.main) {
  const server = await startImageServer(Object.fromEntries(process.argv.slice(2).map((path) => [basename(path), { path }])));
  for (const path of process.argv.slice(2)) console.log(`${basename(path)} ${server.url(basename(path))}`);
  process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
}
