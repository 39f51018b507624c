import { expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ownRuntimeSha256 } from "../../../lib/guestagent/guest-runtime.ts";
import { cacheEntry } from "../../../lib/images/cache-layout.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

function fill(cacheDir: string, urls: string[]): void {
  for (const url of urls) {
    const entry = cacheEntry(cacheDir, url);
    mkdirSync(entry.dir, { recursive: true });
    writeFileSync(entry.url, url);
    writeFileSync(entry.data, "x".repeat(2048));
    writeFileSync(entry.partial, "y");
  }
}

test("den prune empties the download cache", async () => {
  const denHome = await makeDenHome();
  const cacheDir = join(denHome, "cache");
  fill(cacheDir, ["https://example.org/a.img", "https://example.org/b.img"]);
  const run = await runDen(["prune"], { denHome, env: { DEN_CACHE_DIR: cacheDir } });
  expect(run).toMatchObject({ exitCode: 0, stderr: `info: Pruned ${cacheDir}: removed 2 cached files, freed 4.1 KiB\n` });
  expect(existsSync(cacheEntry(cacheDir, "https://example.org/a.img").dir)).toBe(false);
});

test("den prune --keep-referred keeps what an instance names and sweeps its partial file", async () => {
  const denHome = await makeDenHome();
  const cacheDir = join(denHome, "cache");
  await makeInstance(denHome, "vm", "images:\n- location: https://example.org/kept.img\n  arch: x86_64\n");
  fill(cacheDir, ["https://example.org/kept.img", "https://example.org/gone.img"]);
  const run = await runDen(["prune", "--keep-referred"], { denHome, env: { DEN_CACHE_DIR: cacheDir } });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toBe(`info: Pruned ${cacheDir}: removed 1 cached files, kept 1 (removed 1 unfinished download files), freed 2.0 KiB\n`);
  const kept = cacheEntry(cacheDir, "https://example.org/kept.img");
  expect([existsSync(kept.data), existsSync(kept.partial), existsSync(cacheEntry(cacheDir, "https://example.org/gone.img").dir)]).toEqual([true, false, false]);
});

test("den prune removes the guest agent runtime disks of other den builds and keeps this den's", async () => {
  const denHome = await makeDenHome();
  const cacheDir = join(denHome, "cache");
  const disks = join(denHome, "_cache", "guestagent", "runtime-disks");
  mkdirSync(disks, { recursive: true });
  const own = await ownRuntimeSha256(denHome);
  writeFileSync(join(disks, `${own}.iso`), "this den's disk");
  writeFileSync(join(disks, `${"e".repeat(64)}.iso`), "x".repeat(1024));
  const run = await runDen(["prune"], { denHome, env: { DEN_CACHE_DIR: cacheDir } });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain(`info: Pruned ${disks}: removed 1 guest agent runtime disks of other den builds, freed 1.0 KiB\n`);
  expect([existsSync(join(disks, `${own}.iso`)), existsSync(join(disks, `${"e".repeat(64)}.iso`))]).toEqual([true, false]);
});

test("den prune removes the containerd archive disks, which a start writes again", async () => {
  const denHome = await makeDenHome();
  const cacheDir = join(denHome, "cache");
  const disks = join(denHome, "_cache", "containerd", "archive-disks");
  mkdirSync(disks, { recursive: true });
  writeFileSync(join(disks, `${"d".repeat(64)}.iso`), "x".repeat(2048));
  const run = await runDen(["prune"], { denHome, env: { DEN_CACHE_DIR: cacheDir } });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain(`info: Pruned ${disks}: removed 1 containerd archive disks, freed 2.0 KiB\n`);
  expect(existsSync(join(disks, `${"d".repeat(64)}.iso`))).toBe(false);
});
