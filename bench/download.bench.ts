// den's downloader against `curl -o` of the same 512 MiB file from a local HTTP server (tests/e2e/support/
// image-server.ts in its own process), in the same run. den also hashes (sha256, as a template's digest asks) and
// fsyncs before it calls the file complete; curl does neither, so the "no digest" row is the like-for-like one.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { downloadToCache } from "../lib/images/download-to-cache.ts";
import { measure, renderTable } from "./table.ts";

const SIZE_MIB = 512;
const RUNS = 3;
const serverScript = resolve(import.meta.dir, "../tests/e2e/support/image-server.ts");

const dir = await mkdtemp(join(tmpdir(), "den-download-bench-"));
const server = { process: undefined as ReturnType<typeof Bun.spawn> | undefined };
try {
  const file = join(dir, "random.img");
  const made = Bun.spawnSync(["head", "-c", `${SIZE_MIB}M`, "/dev/urandom"], { stdout: Bun.file(file) });
  if (!made.success) throw new Error("cannot create the test file");
  const bytes = (await stat(file)).size;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const digest = `sha256:${hash.digest("hex")}`;

  const child = Bun.spawn([process.execPath, serverScript, file], { stdout: "pipe", stderr: "inherit" });
  server.process = child;
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const url = new TextDecoder().decode(value).trim().split(" ")[1] as string;

  let run = 0;
  const fresh = () => join(dir, `cache-${++run}`);
  const cleanup = async () => {
    for (const name of [...new Bun.Glob("cache-*").scanSync({ cwd: dir, onlyFiles: false }), ...new Bun.Glob("curl-*").scanSync(dir)]) {
      await rm(join(dir, name), { recursive: true, force: true });
    }
  };
  const curl = await measure("curl -o", async () => {
    await cleanup();
    const out = join(dir, `curl-${++run}`);
    const result = Bun.spawnSync(["curl", "-sS", "--fail", "--noproxy", "*", "-o", out, url]);
    if (!result.success) throw new Error(`curl failed: ${result.stderr.toString()}`);
  }, { runs: RUNS });
  const plain = await measure("den, no digest", async () => {
    await cleanup();
    await downloadToCache(url, { cacheDir: fresh(), label: "bench", env: {} });
  }, { runs: RUNS });
  const verified = await measure("den, sha256 digest", async () => {
    await cleanup();
    await downloadToCache(url, { cacheDir: fresh(), label: "bench", env: {}, digest });
  }, { runs: RUNS });
  await cleanup();

  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  console.log(
    renderTable(
      ["case", "runs", "median s", "min s", "MB/s (median)", "x curl time"],
      [curl, plain, verified].map((sample) => [sample.name, String(sample.runs), sample.medianMs / 1000, sample.minMs / 1000, mbps(sample.medianMs), sample.medianMs / curl.medianMs]),
    ),
  );
  console.log(`\n${SIZE_MIB} MiB (${bytes} bytes) from ${url}`);
} finally {
  server.process?.kill();
  await server.process?.exited;
  await rm(dir, { recursive: true, force: true });
}
