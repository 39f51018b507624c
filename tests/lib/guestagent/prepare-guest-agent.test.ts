import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { prepareGuestAgent } from "../../../lib/guestagent/prepare-guest-agent.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();

async function context(withBundle: boolean) {
  const root = await tempDir(defer);
  const execPath = join(root, "den");
  await writeFile(execPath, "den itself");
  if (withBundle) await writeFile(join(root, "den-guestagent.js"), "agent");
  return { denHome: join(root, "home"), env: {}, execPath, platform: "linux", arch: "x64", embeddedFiles: [], distDir: root, manifest: null };
}

test("prepareGuestAgent() gives the bundle, the runtime and its disk", async () => {
  const ctx = await context(true);
  const agent = await prepareGuestAgent("x86_64", ctx);
  expect({ bundle: new TextDecoder().decode(agent?.bundle), runtime: agent?.runtime.path, disk: existsSync(agent?.runtimeDisk ?? "") }).toEqual({ bundle: "agent", runtime: ctx.execPath, disk: true });
});

test("prepareGuestAgent() for a musl guest puts the manifest's musl runtime beside den's own on one disk", async () => {
  const ctx = await context(true);
  const musl = new TextEncoder().encode("the musl runtime");
  const compressed = Bun.zstdCompressSync(musl);
  const file = "den-guestagent-runtime-bun-1.4.5-linux-x64-musl.zst";
  await writeFile(join(ctx.distDir, file), compressed);
  const hash = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  const entry = { file, sha256: hash(musl), size: musl.byteLength, compressedSha256: hash(compressed), compressedSize: compressed.byteLength };
  const agent = await prepareGuestAgent("x86_64", { ...ctx, musl: true, manifest: { bunVersion: "1.4.5", baseUrl: "", runtimes: { "linux-x64-musl": entry } } });
  expect(agent?.runtime.path).toBe(ctx.execPath);
  expect(agent?.muslRuntime).toMatchObject({ sha256: entry.sha256, target: "linux-x64-musl", bunVersion: "1.4.5" });
  expect(agent?.runtimeDisk.endsWith(`${agent?.runtime.sha256}-${entry.sha256}.iso`)).toBe(true);
});

test("prepareGuestAgent() for a musl guest of a den without a musl runtime gives the glibc one alone", async () => {
  const agent = await prepareGuestAgent("x86_64", { ...(await context(true)), musl: true });
  expect(agent?.muslRuntime).toBeUndefined();
  expect(agent?.runtimeDisk.endsWith(`${agent?.runtime.sha256}.iso`)).toBe(true);
});

test.each([
  { name: "there is no bundle", withBundle: false, arch: "x86_64" },
  { name: "there is no runtime for the arch", withBundle: true, arch: "aarch64" },
])("prepareGuestAgent() is undefined when $name", async ({ withBundle, arch }) => {
  expect(await prepareGuestAgent(arch, await context(withBundle))).toBeUndefined();
});
