import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheEntry } from "../../../lib/images/cache-layout.ts";
import type { DownloadEvent } from "../../../lib/images/download-event.ts";
import { downloadToCache, type DownloadToCacheOptions } from "../../../lib/images/download-to-cache.ts";
import { startImageServer } from "../../e2e/support/image-server.ts";

const root = mkdtempSync(join(tmpdir(), "den-download-test-"));
const server = await startImageServer();
afterAll(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

// Several MiB, so a transfer takes many chunks and a drop lands in the middle.
const Size = 3 * 1024 * 1024 + 12345;
const content = Buffer.alloc(Size);
for (let i = 0; i < Size; i++) content[i] = (i * 7919 + (i >> 11)) % 251;
const sha256 = `sha256:${createHash("sha256").update(content).digest("hex")}`;
const sha512 = `sha512:${createHash("sha512").update(content).digest("hex")}`;

let counter = 0;
let name: string;
let cacheDir: string;
let events: DownloadEvent[];
beforeEach(() => {
  name = `file-${++counter}.img`;
  server.add(name, { bytes: content, etag: `"v1-${counter}"` });
  cacheDir = join(root, `cache-${counter}`);
  events = [];
});

function options(extra: Partial<DownloadToCacheOptions> = {}): DownloadToCacheOptions {
  return { cacheDir, label: `image (${name})`, env: {}, onEvent: (event) => events.push(event), retryDelayMs: 1, ...extra };
}

function entry() {
  return cacheEntry(cacheDir, server.url(name));
}

describe("downloadToCache()", () => {
  test.each([
    { name: "a sha256 digest", digest: sha256, digestFile: "sha256.digest" },
    { name: "a sha512 digest", digest: sha512, digestFile: "sha512.digest" },
  ])("downloadToCache() stores the file in Lima's cache layout with $name", async ({ digest, digestFile }) => {
    const result = await downloadToCache(server.url(name), options({ digest }));
    const { dir, data } = entry();
    expect(result).toEqual({ path: data, fromCache: false });
    expect(readFileSync(data).equals(content)).toBe(true);
    expect(readFileSync(join(dir, "url"), "utf8")).toBe(server.url(name));
    expect(readFileSync(join(dir, digestFile), "utf8")).toBe(digest);
    expect(readFileSync(join(dir, "time"), "utf8")).toBe("Wed, 01 Jan 2025 00:00:00 GMT");
    expect(readFileSync(join(dir, "type"), "utf8")).toBe("application/octet-stream");
    expect(readdirSync(dir).sort()).toEqual(["data", "etag", digestFile, "time", "type", "url"].sort());
    expect(events.map((event) => event.kind)).toEqual(expect.arrayContaining(["start", "data", "done"]));
  });

  test("downloadToCache() with a cached digest does not touch the network", async () => {
    await downloadToCache(server.url(name), options({ digest: sha256 }));
    const result = await downloadToCache(server.url(name), options({ digest: sha256 }));
    expect(result.fromCache).toBe(true);
    expect(server.requestCount(name)).toBe(1);
    expect(events.at(-1)).toMatchObject({ kind: "cached" });
  });

  test("downloadToCache() hashes a file cached without a digest once and then trusts the digest file", async () => {
    await downloadToCache(server.url(name), options());
    expect(existsSync(join(entry().dir, "sha256.digest"))).toBe(false);
    expect((await downloadToCache(server.url(name), options({ digest: sha256 }))).fromCache).toBe(true);
    expect(readFileSync(join(entry().dir, "sha256.digest"), "utf8")).toBe(sha256);
    expect(server.requestCount(name)).toBe(1);
  });

  test("downloadToCache() without a digest revalidates with a conditional request and transfers no body", async () => {
    await downloadToCache(server.url(name), options());
    const result = await downloadToCache(server.url(name), options());
    expect(result.fromCache).toBe(true);
    expect(server.requests.filter((r) => r.name === name).map((r) => r.status)).toEqual([200, 304]);
    expect(server.bytesServed(name)).toBe(Size);
  });

  test("downloadToCache() without a digest downloads again when the file on the server changed", async () => {
    await downloadToCache(server.url(name), options());
    const changed = Buffer.from("a newer image");
    server.add(name, { bytes: changed, etag: '"v2"', lastModified: "Thu, 02 Jan 2025 00:00:00 GMT" });
    const result = await downloadToCache(server.url(name), options());
    expect(result.fromCache).toBe(false);
    expect(readFileSync(result.path, "utf8")).toBe("a newer image");
    expect(readFileSync(join(entry().dir, "etag"), "utf8")).toBe('"v2"');
  });

  test("downloadToCache() uses the cached copy with a warning when it cannot revalidate", async () => {
    await downloadToCache(server.url(name), options());
    server.fault(name, { status: 503 });
    const result = await downloadToCache(server.url(name), options());
    server.fault(name, undefined);
    expect(result.fromCache).toBe(true);
    expect(events.find((event) => event.kind === "warning")).toMatchObject({ message: expect.stringContaining("using the cached copy") });
  });

  test("downloadToCache() resumes after a dropped connection on the next call and transfers only the rest", async () => {
    server.fault(name, { dropAfterBytes: 1_000_000, times: 1 });
    const failed = downloadToCache(server.url(name), options({ digest: sha256, retries: 0 }));
    await expect(failed).rejects.toMatchObject({ code: "FETCH_FAILED", message: expect.stringContaining("the connection broke after") });
    const partial = statSync(entry().partial).size;
    expect(partial).toBeGreaterThan(0);
    expect(existsSync(entry().data)).toBe(false);

    const result = await downloadToCache(server.url(name), options({ digest: sha256, retries: 0 }));
    expect(readFileSync(result.path).equals(content)).toBe(true);
    const [first, second] = server.requests.filter((r) => r.name === name);
    expect(second).toMatchObject({ status: 206, range: `bytes=${partial}-`, bytes: Size - partial });
    expect(server.bytesServed(name)).toBe(first!.bytes + Size - partial);
    expect(existsSync(entry().partial)).toBe(false);
  });

  test("downloadToCache() resumes the download of a process that was killed, taking over its lock", async () => {
    server.fault(name, { stallAfterBytes: 2_500_000, times: 1 });
    const module = join(import.meta.dir, "../../../lib/images/download-to-cache.ts");
    const code = `import { downloadToCache } from ${JSON.stringify(module)};
await downloadToCache(${JSON.stringify(server.url(name))}, { cacheDir: ${JSON.stringify(cacheDir)}, label: "x", env: {}, digest: ${JSON.stringify(sha256)} });`;
    const child = Bun.spawn([process.execPath, "-e", code], { stdout: "ignore", stderr: "ignore" });
    // Killed once its first blocks are on disk, in the middle of the transfer.
    while (!existsSync(entry().partial) || statSync(entry().partial).size < 2 * 1024 * 1024) await Bun.sleep(20);
    child.kill("SIGKILL");
    await child.exited;
    expect(existsSync(join(entry().dir, "den.lock"))).toBe(true);
    const partial = statSync(entry().partial).size;

    const result = await downloadToCache(server.url(name), options({ digest: sha256 }));
    expect(readFileSync(result.path).equals(content)).toBe(true);
    expect(server.requests.filter((r) => r.name === name).at(-1)).toMatchObject({ status: 206, range: `bytes=${partial}-`, bytes: Size - partial });
    expect(events.some((event) => event.kind === "waiting")).toBe(false);
    // A second Bun process starts and downloads 2 MiB first: seconds on a loaded 2-core machine, not milliseconds.
  }, 60_000);

  test("downloadToCache() gives up on a server that stops sending, naming the silence, and keeps what arrived", async () => {
    server.fault(name, { stallAfterBytes: 1_500_000, times: 1 });
    const started = performance.now();
    const failed = downloadToCache(server.url(name), options({ digest: sha256, retries: 0, stallTimeoutMs: 300 }));
    await expect(failed).rejects.toMatchObject({ code: "FETCH_FAILED", message: expect.stringMatching(/: no data arrived for 0\.3 s, after \d+ bytes$/) });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(statSync(entry().partial).size).toBeGreaterThan(0);
  });

  test("downloadToCache() retries a stalled transfer by itself, resuming where it stopped", async () => {
    server.fault(name, { stallAfterBytes: 1_500_000, times: 1 });
    const result = await downloadToCache(server.url(name), options({ digest: sha256, stallTimeoutMs: 300, retryDelayMs: 10 }));
    expect(readFileSync(result.path).equals(content)).toBe(true);
    expect(server.requests.filter((r) => r.name === name).map((r) => r.status)).toEqual([200, 206]);
    expect(events.filter((event) => event.kind === "retry")).toHaveLength(1);
  });

  test("downloadToCache() gives up on a server that never answers the request", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    try {
      const { port } = silent.address() as AddressInfo;
      const failed = downloadToCache(`http://127.0.0.1:${port}/disk.img`, options({ retries: 0, stallTimeoutMs: 300 }));
      await expect(failed).rejects.toMatchObject({ code: "FETCH_FAILED", message: expect.stringContaining(": the server did not answer within 0.3 s") });
    } finally {
      silent.close();
    }
  });

  test("downloadToCache() retries a dropped transfer by itself, resuming where it broke", async () => {
    server.fault(name, { dropAfterBytes: 2_000_000, times: 1 });
    const result = await downloadToCache(server.url(name), options({ digest: sha256 }));
    expect(readFileSync(result.path).equals(content)).toBe(true);
    expect(server.requests.filter((r) => r.name === name).map((r) => r.status)).toEqual([200, 206]);
    expect(server.bytesServed(name)).toBe(Size);
    expect(events.filter((event) => event.kind === "retry")).toHaveLength(1);
  });

  test.each([
    { name: "refuses ranges", change: () => server.fault(name, { refuseRange: true }) },
    { name: "has a new version of the file (If-Range fails)", change: () => server.add(name, { bytes: content, etag: '"v-new"', lastModified: "Fri, 03 Jan 2025 00:00:00 GMT" }) },
  ])("downloadToCache() starts over cleanly when the server $name", async ({ change }) => {
    server.fault(name, { dropAfterBytes: 1_500_000, times: 1 });
    await expect(downloadToCache(server.url(name), options({ digest: sha256, retries: 0 }))).rejects.toMatchObject({ code: "FETCH_FAILED" });
    change();
    const result = await downloadToCache(server.url(name), options({ digest: sha256, retries: 0 }));
    server.fault(name, undefined);
    expect(readFileSync(result.path).equals(content)).toBe(true);
    expect(server.requests.filter((r) => r.name === name).at(-1)).toMatchObject({ status: 200, bytes: Size });
  });

  test("downloadToCache() refuses wrong bytes, names both digests and leaves no cache entry data", async () => {
    server.fault(name, { wrongBytes: true });
    const promise = downloadToCache(server.url(name), options({ digest: sha256 }));
    const wrong = Buffer.from(content);
    wrong[Math.floor(Size / 2)] = (wrong[Math.floor(Size / 2)] as number) ^ 0xff;
    const actual = `sha256:${createHash("sha256").update(wrong).digest("hex")}`;
    await expect(promise).rejects.toMatchObject({
      code: "DIGEST_MISMATCH",
      message: `Cannot use image (${name}) "${server.url(name)}": expected digest "${sha256}", got "${actual}"`,
    });
    server.fault(name, undefined);
    const { dir } = entry();
    expect(readdirSync(dir).filter((file) => file !== "url")).toEqual([]);
    expect(server.requestCount(name)).toBe(1);
  });

  test("downloadToCache() completes a download without Content-Length and checks it by digest", async () => {
    server.fault(name, { omitContentLength: true });
    const result = await downloadToCache(server.url(name), options({ digest: sha512 }));
    server.fault(name, undefined);
    expect(readFileSync(result.path).equals(content)).toBe(true);
    expect(events.find((event) => event.kind === "start")).toMatchObject({ totalBytes: undefined });
  });

  test.each([
    { name: "with a digest", digest: sha256 },
    { name: "without a digest", digest: undefined },
  ])("downloadToCache() makes one request for concurrent downloads of one URL $name", async ({ digest }) => {
    const results = await Promise.all([1, 2, 3].map(() => downloadToCache(server.url(name), options({ digest }))));
    expect(server.requests.filter((r) => r.name === name)).toHaveLength(1);
    expect(results.filter((result) => result.fromCache)).toHaveLength(2);
    expect(events.filter((event) => event.kind === "waiting").length).toBeGreaterThanOrEqual(1);
    for (const result of results) expect(readFileSync(result.path).equals(content)).toBe(true);
  });

  test("downloadToCache() fails at once on a missing file, without retrying", async () => {
    const url = `${server.origin}/missing-${counter}.img`;
    await expect(downloadToCache(url, options())).rejects.toMatchObject({ code: "FETCH_FAILED", message: `Cannot download image (${name}) "${url}": HTTP 404` });
    expect(server.requests.filter((r) => r.name === `missing-${counter}.img`)).toHaveLength(1);
  });

  test("downloadToCache() retries a server error and then succeeds", async () => {
    server.fault(name, { status: 503, times: 2 });
    const result = await downloadToCache(server.url(name), options({ digest: sha256 }));
    expect(readFileSync(result.path).equals(content)).toBe(true);
    expect(server.requests.filter((r) => r.name === name).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  test("downloadToCache() refuses a malformed digest before any request", async () => {
    await expect(downloadToCache(server.url(name), options({ digest: "md5:abc" }))).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    expect(server.requestCount(name)).toBe(0);
  });

  test("downloadToCache() replaces stale cached data whose recorded digest differs", async () => {
    const { dir } = entry();
    await downloadToCache(server.url(name), options({ digest: sha256 }));
    writeFileSync(join(dir, "sha256.digest"), `sha256:${"0".repeat(64)}`);
    const result = await downloadToCache(server.url(name), options({ digest: sha256 }));
    expect(result.fromCache).toBe(false);
    expect(readFileSync(join(dir, "sha256.digest"), "utf8")).toBe(sha256);
  });
});
