// The containerd archive in the seed: nerdctl-full.tgz streamed from its file (never read whole), its digest checked
// on the way, and DEN_CIDATA_CONTAINERD_ARCHIVE naming it exactly when the seed carries it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerdArchiveSeedName, containerdArchiveEntry } from "../../cidata/containerd-archive-entry.ts";
import { denEnv } from "../../cidata/env-files.ts";
import { seedLayout } from "../../cidata/seed-layout.ts";
import { writeSeed } from "../../cidata/write-seed.ts";
import { DenError } from "../../lib/errors.ts";
import { shellQuote } from "../../lib/shell/quote.ts";
import { argsFor, filledConfig, seedFacts } from "./seed-fixture.ts";

let work = "";
let archivePath = "";
// Over 1 MiB, so the stream hands over several chunks.
const content = new Uint8Array(3 * 1024 * 1024 + 77).map((_, i) => (i * 13 + (i >> 9)) % 256);
const digest = `sha256:${createHash("sha256").update(content).digest("hex")}`;
const wrongDigest = `sha256:${"f".repeat(64)}`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "den-containerd-seed-"));
  archivePath = join(work, "data");
  await writeFile(archivePath, content);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function drain(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; chunks: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  let chunks = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    chunks++;
  }
  return { bytes, chunks, sha256: `sha256:${hash.digest("hex")}` };
}

describe("containerdArchiveEntry()", () => {
  test.each([
    { name: "with its digest checked", digest: digest as string | undefined },
    { name: "without a digest", digest: undefined },
  ])("containerdArchiveEntry() streams the file as nerdctl-full.tgz, mode 0644, $name", async ({ digest: given }) => {
    const entry = containerdArchiveEntry({ path: archivePath, size: content.byteLength, digest: given, location: "https://example.com/a.tgz" });
    expect({ path: entry.path, mode: entry.mode, size: entry.size }).toEqual({ path: "nerdctl-full.tgz", mode: 0o644, size: content.byteLength });
    const source = entry.source();
    expect(source).toBeInstanceOf(ReadableStream);
    const read = await drain(source as ReadableStream<Uint8Array>);
    expect(read).toMatchObject({ bytes: content.byteLength, sha256: digest });
    expect(read.chunks).toBeGreaterThan(1);
  });

  test("containerdArchiveEntry() fails the stream with DIGEST_MISMATCH when the file no longer matches its digest", async () => {
    const entry = containerdArchiveEntry({ path: archivePath, size: content.byteLength, digest: wrongDigest, location: "https://example.com/a.tgz" });
    const error = await drain(entry.source() as ReadableStream<Uint8Array>).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DenError);
    expect((error as DenError).code).toBe("DIGEST_MISMATCH");
    expect((error as DenError).message).toContain(`expected digest "${wrongDigest}", got "${digest}"`);
  });
});

describe("seed layout of the containerd archive", () => {
  const entry = () => containerdArchiveEntry({ path: archivePath, size: content.byteLength, digest, location: "x" });
  test.each([
    { name: "user containerd with the archive", raw: {}, carried: true, want: ContainerdArchiveSeedName },
    { name: "system containerd with the archive", raw: { containerd: { system: true, user: false } }, carried: true, want: ContainerdArchiveSeedName },
    { name: "containerd off, an archive given anyway", raw: { containerd: { system: false, user: false } }, carried: true, want: "" },
    { name: "plain mode", raw: { plain: true }, carried: true, want: "" },
    { name: "user containerd without an archive", raw: {}, carried: false, want: "" },
  ])("seedLayout() and denEnv() for $name name the archive as \"$want\"", ({ raw, carried, want }) => {
    const args = argsFor(raw, { containerdArchive: carried });
    expect(args.containerd.archive).toBe(want);
    expect(denEnv(args)).toContain(`DEN_CIDATA_CONTAINERD_ARCHIVE=${shellQuote(want)}\n`);
    const layout = seedLayout(args, { bootScripts: [], ...(carried && { containerdArchive: entry() }) });
    expect(layout.filter((file) => file.path === ContainerdArchiveSeedName)).toHaveLength(want === "" ? 0 : 1);
  });

  test("denEnv() passes guestInstallPrefix as DEN_CIDATA_GUEST_INSTALL_PREFIX", () => {
    expect(denEnv(argsFor({}))).toContain("DEN_CIDATA_GUEST_INSTALL_PREFIX=/usr/local\n");
    expect(denEnv(argsFor({ guestInstallPrefix: "/opt/my den" }))).toContain("DEN_CIDATA_GUEST_INSTALL_PREFIX='/opt/my den'\n");
  });
});

describe("writeSeed() with a containerd archive", () => {
  const { instanceDir: _dir, ...facts } = seedFacts();

  test("writeSeed() puts the archive's exact bytes into the image, read back with isoinfo", async () => {
    if (!Bun.which("isoinfo")) throw new Error("isoinfo is missing: run scripts/setup.sh (apt-get install -y genisoimage)");
    const dir = join(work, "ok");
    await mkdir(dir);
    const { path } = await writeSeed(dir, { config: filledConfig({}), facts, containerdArchive: { path: archivePath, size: content.byteLength, digest, location: "x" } });
    const child = Bun.spawnSync(["isoinfo", "-R", "-i", path, "-x", "/nerdctl-full.tgz"]);
    expect(`sha256:${createHash("sha256").update(child.stdout).digest("hex")}`).toBe(digest);
    const env = Bun.spawnSync(["isoinfo", "-R", "-i", path, "-x", "/den.env"]).stdout.toString();
    expect(env).toContain("DEN_CIDATA_CONTAINERD_ARCHIVE=nerdctl-full.tgz\n");
  });

  test("writeSeed() leaves no image behind when the archive changed after it was checked", async () => {
    const dir = join(work, "changed");
    await mkdir(dir);
    const promise = writeSeed(dir, { config: filledConfig({}), facts, containerdArchive: { path: archivePath, size: content.byteLength, digest: wrongDigest, location: "x" } });
    await expect(promise).rejects.toBeInstanceOf(DenError);
    expect(await readdir(dir)).toEqual([]);
  });
});
