import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cachedContainerdArchive } from "../../../lib/containerd/cached-containerd-archive.ts";
import { fetchContainerdArchive } from "../../../lib/containerd/fetch-containerd-archive.ts";
import { DenError } from "../../../lib/errors.ts";
import type { DownloadEvent } from "../../../lib/images/download-event.ts";
import { startImageServer } from "../../e2e/support/image-server.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";

const root = mkdtempSync(join(tmpdir(), "den-containerd-test-"));
const server = await startImageServer();
afterAll(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

const content = new Uint8Array(256 * 1024).map((_, i) => (i * 31) % 251);
const sha256 = `sha256:${createHash("sha256").update(content).digest("hex")}`;
const wrong = `sha256:${"0".repeat(64)}`;
server.add("nerdctl-full.tar.gz", { bytes: content });
const localPath = join(root, "local-nerdctl-full.tar.gz");
writeFileSync(localPath, content);

let counter = 0;
function setup(archives: { location: string; digest?: string | null; arch?: string }[], containerd: { system?: boolean; user?: boolean } = {}) {
  const cacheDir = join(root, `cache-${++counter}`);
  const events: DownloadEvent[] = [];
  const config = {
    arch: "x86_64",
    plain: false,
    containerd: { system: containerd.system ?? false, user: containerd.user ?? true, archives: archives.map((archive) => ({ arch: "x86_64", digest: null, ...archive })) },
  };
  const ctx = { hostHome: root, cwd: root, env: {}, cacheDir, onEvent: (event: DownloadEvent) => events.push(event) };
  return { config, ctx, events, cacheDir };
}

describe("fetchContainerdArchive()", () => {
  test.each([
    { name: "a remote archive with its digest", location: () => server.url("nerdctl-full.tar.gz"), digest: sha256 as string | null, inCache: true },
    { name: "a remote archive without a digest", location: () => server.url("nerdctl-full.tar.gz"), digest: null, inCache: true },
    { name: "a local archive with its digest", location: () => localPath, digest: sha256, inCache: false },
    { name: "a local archive given as a file URL", location: () => `file://${localPath}`, digest: null, inCache: false },
  ])("fetchContainerdArchive() makes $name available, and the host agent finds the same file", async ({ location, digest, inCache }) => {
    const { config, ctx, cacheDir } = setup([{ location: location(), digest }]);
    const fetched = await fetchContainerdArchive(config, ctx);
    expect(fetched).toMatchObject({ size: content.byteLength, digest: digest ?? undefined, location: location() });
    expect(fetched?.path.startsWith(cacheDir)).toBe(inCache);
    expect(await Bun.file(fetched!.path).bytes()).toEqual(content);
    expect(await cachedContainerdArchive(config, ctx)).toEqual(fetched);
  });

  test("fetchContainerdArchive() downloads once and then reports the cached copy, under the label containerd archive", async () => {
    const { config, ctx, events } = setup([{ location: server.url("nerdctl-full.tar.gz"), digest: sha256 }]);
    const before = server.requestCount("nerdctl-full.tar.gz");
    await fetchContainerdArchive(config, ctx);
    await fetchContainerdArchive(config, ctx);
    expect(server.requestCount("nerdctl-full.tar.gz") - before).toBe(1);
    expect(events.filter((event) => event.kind === "start" || event.kind === "cached").map((event) => [event.kind, "label" in event ? event.label : ""])).toEqual([
      ["start", "containerd archive (nerdctl-full.tar.gz)"],
      ["cached", "containerd archive (nerdctl-full.tar.gz)"],
    ]);
  });

  test.each([
    { name: "both switches are off", containerd: { system: false, user: false } },
    { name: "the archive list is for another arch only", containerd: { system: false, user: false }, arch: "aarch64" },
  ])("fetchContainerdArchive() fetches nothing when $name", async ({ containerd, arch }) => {
    const { config, ctx } = setup([{ location: server.url("never-asked.tar.gz"), arch }], containerd);
    expect(await fetchContainerdArchive(config, ctx)).toBeUndefined();
    expect(await cachedContainerdArchive(config, ctx)).toBeUndefined();
    expect(server.requestCount("never-asked.tar.gz")).toBe(0);
  });

  test.each([
    { name: "a wrong digest of a remote archive", location: () => server.url("nerdctl-full.tar.gz"), digest: wrong, code: "DIGEST_MISMATCH", reason: `expected digest "${wrong}", got "${sha256}"` },
    { name: "a remote archive the server does not have", location: () => server.url("missing.tar.gz"), digest: sha256, code: "FETCH_FAILED", reason: "404" },
    { name: "a wrong digest of a local archive", location: () => localPath, digest: wrong, code: "DIGEST_MISMATCH", reason: `expected digest "${wrong}", got "${sha256}"` },
    { name: "a missing local archive", location: () => join(root, "nowhere.tar.gz"), digest: sha256, code: "IO", reason: "no such file" },
    { name: "an unsupported scheme", location: () => "ftp://example.com/a.tar.gz", digest: null, code: "LOCATOR_INVALID", reason: 'unsupported scheme "ftp"' },
  ])("fetchContainerdArchive() fails for $name, naming the stage, location and digest", async ({ location, digest, code, reason }) => {
    const { config, ctx } = setup([{ location: location(), digest }]);
    const error = await rejectedDenError(fetchContainerdArchive(config, ctx));
    expect(error.code).toBe(code as DenError["code"]);
    expect(error.message).toStartWith(`Cannot get the containerd archive "${location()}" (${digest ? `digest "${digest}"` : "no digest"}) for arch "x86_64": `);
    expect(error.message).toContain(reason);
    expect(error.hint).toContain("containerd.archives entry for x86_64");
    expect(error.details?.stage).toBe("containerd archive");
  });

  test("fetchContainerdArchive() tries the next archive of the arch when one fails, with a warning", async () => {
    const { config, ctx, events } = setup([{ location: server.url("gone.tar.gz") }, { location: server.url("nerdctl-full.tar.gz"), digest: sha256 }]);
    const fetched = await fetchContainerdArchive(config, ctx);
    expect(fetched?.location).toBe(server.url("nerdctl-full.tar.gz"));
    expect(events.filter((event) => event.kind === "warning").map((event) => (event as { message: string }).message)).toEqual([
      expect.stringMatching(/^Cannot get the containerd archive ".*gone\.tar\.gz" \(no digest\) for arch "x86_64": .*404.*; trying the next archive$/),
    ]);
  });

  test("fetchContainerdArchive() lists every failure when all archives of the arch fail", async () => {
    const { config, ctx } = setup([{ location: server.url("gone-1.tar.gz") }, { location: server.url("gone-2.tar.gz") }]);
    const error = await rejectedDenError(fetchContainerdArchive(config, ctx));
    expect(error.message).toMatch(/^Cannot get a containerd archive for arch "x86_64": all 2 containerd.archives entries failed:\n  - Cannot get .*gone-1.*\n  - Cannot get .*gone-2/);
  });
});

describe("cachedContainerdArchive()", () => {
  test("cachedContainerdArchive() downloads nothing and fails when den start has not fetched the archive", async () => {
    const { config, ctx } = setup([{ location: server.url("nerdctl-full.tar.gz"), digest: sha256 }]);
    const before = server.requestCount("nerdctl-full.tar.gz");
    const error = await rejectedDenError(cachedContainerdArchive(config, ctx));
    expect(error.code).toBe("FETCH_FAILED");
    expect(error.message).toContain(`Cannot find the containerd archive for arch "x86_64" in the download cache`);
    expect(error.message).toContain(server.url("nerdctl-full.tar.gz"));
    expect(server.requestCount("nerdctl-full.tar.gz")).toBe(before);
  });

  test("cachedContainerdArchive() does not take a cached file recorded under another digest", async () => {
    const { config, ctx } = setup([{ location: server.url("nerdctl-full.tar.gz"), digest: sha256 }]);
    await fetchContainerdArchive(config, ctx);
    const changed = { ...config, containerd: { ...config.containerd, archives: [{ ...config.containerd.archives[0]!, digest: wrong }] } };
    expect((await rejectedDenError(cachedContainerdArchive(changed, ctx))).code).toBe("FETCH_FAILED");
  });
});
