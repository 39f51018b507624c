import { afterAll, expect, test } from "bun:test";
import { chmod, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type FindGuestRuntimeContext, findGuestRuntime } from "../../../lib/guestagent/guest-runtime.ts";
import type { RuntimeManifest } from "../../../lib/guestagent/runtime-manifest.ts";
import { startImageServer } from "../../e2e/support/image-server.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const server = await startImageServer();
afterAll(() => server.stop());

const sha = (bytes: Uint8Array | string) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
const runtimeBytes: Uint8Array = new TextEncoder().encode("the arm64 runtime ".repeat(50));
const compressed = Bun.zstdCompressSync(runtimeBytes);
const file = "den-guestagent-runtime-bun-1.4.5-linux-arm64.zst";
const manifest: RuntimeManifest = {
  bunVersion: "1.4.5",
  baseUrl: "",
  runtimes: { "linux-arm64": { file, sha256: sha(runtimeBytes), size: runtimeBytes.byteLength, compressedSha256: sha(compressed), compressedSize: compressed.byteLength } },
};
server.add(file, { bytes: compressed });
const baseUrl = server.url(file).slice(0, -file.length - 1);

/** An x86_64 Linux host whose own executable is ROOT/bin/den, with nothing beside it and an empty dist/agent/. */
async function context(extra: Partial<FindGuestRuntimeContext> = {}): Promise<FindGuestRuntimeContext> {
  const root = await tempDir(defer);
  return { denHome: join(root, "home"), env: {}, hostHome: root, cacheDir: join(root, "cache"), platform: "linux", arch: "x64", execPath: join(root, "bin", "den"), distDir: join(root, "dist"), manifest, ...extra };
}

/** A context whose den was installed with `bytes` as the runtime file in PREFIX/share/den/ (a release tarball's layout). */
async function installedWith(bytes: Uint8Array, extra: Partial<FindGuestRuntimeContext> = {}): Promise<FindGuestRuntimeContext> {
  const prefix = await tempDir(defer);
  await Bun.write(join(prefix, "share", "den", file), bytes);
  return context({ execPath: join(prefix, "bin", "den"), ...extra });
}

test("findGuestRuntime() uses den's own executable for guests of the host's arch, hashed once", async () => {
  const root = await tempDir(defer);
  const execPath = join(root, "den");
  await writeFile(execPath, "den itself");
  const ctx = await context({ execPath, bunVersion: "1.4.5" });
  const found = await findGuestRuntime("x86_64", ctx);
  expect(found).toEqual({ path: execPath, size: 10, sha256: sha("den itself"), target: "linux-x64", bunVersion: "1.4.5" });
  expect(await findGuestRuntime("x86_64", ctx)).toEqual(found);
  await writeFile(execPath, "den updated");
  expect((await findGuestRuntime("x86_64", ctx))?.sha256).toBe(sha("den updated"));
});

test("findGuestRuntime() unpacks the runtime installed beside den (PREFIX/share/den/) once into a private cache file", async () => {
  const ctx = await installedWith(compressed);
  const found = await findGuestRuntime("aarch64", ctx);
  expect(found).toEqual({ path: join(ctx.denHome, "_cache", "guestagent", "runtimes", "bun-1.4.5-linux-arm64"), size: runtimeBytes.byteLength, sha256: sha(runtimeBytes), target: "linux-arm64", bunVersion: "1.4.5" });
  const info = await stat(found!.path);
  expect({ mode: info.mode & 0o777, dir: (await stat(join(found!.path, ".."))).mode & 0o777 }).toEqual({ mode: 0o600, dir: 0o700 });
  expect(new Uint8Array(await Bun.file(found!.path).bytes())).toEqual(new Uint8Array(runtimeBytes));
  await Bun.sleep(5);
  expect(await findGuestRuntime("aarch64", ctx)).toEqual(found);
  expect((await stat(found!.path)).mtimeMs).toBe(info.mtimeMs);
});

test("findGuestRuntime() reads dist/agent/ when nothing is installed beside den (den run from source)", async () => {
  const ctx = await context();
  await Bun.write(join(ctx.distDir!, file), compressed);
  expect(Buffer.from(await Bun.file((await findGuestRuntime("aarch64", ctx))!.path).bytes())).toEqual(Buffer.from(runtimeBytes));
});

test.each([
  { name: "a changed file of the same size", tamper: (path: string) => writeFile(path, runtimeBytes.map((byte) => byte ^ 1)) },
  { name: "a truncated file", tamper: (path: string) => writeFile(path, "") },
  { name: "a world-writable file", tamper: (path: string) => chmod(path, 0o666) },
  {
    name: "a symlink to another file",
    tamper: async (path: string) => {
      await writeFile(`${path}.evil`, runtimeBytes);
      await rm(path);
      await symlink(`${path}.evil`, path);
    },
  },
])("findGuestRuntime() replaces $name with the runtime installed beside den", async ({ tamper }) => {
  const ctx = await installedWith(compressed);
  const first = await findGuestRuntime("aarch64", ctx);
  await tamper(first!.path);
  expect(await findGuestRuntime("aarch64", ctx)).toEqual(first);
  const info = await stat(first!.path);
  expect({ regular: info.isFile(), mode: info.mode & 0o777, bytes: Buffer.from(await Bun.file(first!.path).bytes()) }).toEqual({ regular: true, mode: 0o600, bytes: Buffer.from(runtimeBytes) });
});

test("findGuestRuntime() reads a runtime file put in the folder den is in (a download-and-run den)", async () => {
  const folder = await tempDir(defer);
  await writeFile(join(folder, file), compressed);
  const ctx = await context({ execPath: join(folder, "den") });
  expect((await findGuestRuntime("aarch64", ctx))?.sha256).toBe(sha(runtimeBytes));
});

test("findGuestRuntime() downloads a runtime den does not carry from DEN_GUESTAGENT_RUNTIME_URL once, digest checked", async () => {
  const ctx = await context({ env: { DEN_GUESTAGENT_RUNTIME_URL: baseUrl } });
  const before = server.requestCount(file);
  const found = await findGuestRuntime("aarch64", ctx);
  expect(new Uint8Array(await Bun.file(found!.path).bytes())).toEqual(new Uint8Array(runtimeBytes));
  await rm(found!.path);
  await findGuestRuntime("aarch64", ctx);
  expect(server.requestCount(file) - before).toBe(1);
});

test("findGuestRuntime() downloads from the release URL den was built with", async () => {
  const ctx = await context({ manifest: { ...manifest, baseUrl } });
  expect((await findGuestRuntime("aarch64", ctx))?.sha256).toBe(sha(runtimeBytes));
});

test("findGuestRuntime() reads the runtime from a folder named by DEN_GUESTAGENT_RUNTIME_URL", async () => {
  const folder = await tempDir(defer);
  await writeFile(join(folder, file), compressed);
  const ctx = await context({ env: { DEN_GUESTAGENT_RUNTIME_URL: folder } });
  expect((await findGuestRuntime("aarch64", ctx))?.sha256).toBe(sha(runtimeBytes));
});

test.each([
  { name: "offline", env: { DEN_GUESTAGENT_RUNTIME_URL: "http://127.0.0.1:9/den" }, message: `Cannot get the guest agent runtime "${file}" from "http://127.0.0.1:9/den/${file}"` },
  { name: "built without a URL", env: {}, message: `Cannot get the guest agent runtime "${file}": this den was built without a download URL for it` },
  { name: "given a folder without the file", env: { DEN_GUESTAGENT_RUNTIME_URL: "/nonexistent" }, message: `"/nonexistent/${file}": no such file` },
])("findGuestRuntime() names the file, where it looked and what to do when $name", async ({ env, message }) => {
  const ctx = await context({ env });
  await expect(findGuestRuntime("aarch64", ctx)).rejects.toMatchObject({ code: "FETCH_FAILED", message: expect.stringContaining(message), hint: expect.stringContaining("DEN_GUESTAGENT_RUNTIME_URL") });
});

test("findGuestRuntime() refuses a download whose digest is not the manifest's", async () => {
  const wrong = "den-guestagent-runtime-bun-1.4.6-linux-arm64.zst";
  server.add(wrong, { bytes: Bun.zstdCompressSync(new TextEncoder().encode("an evil runtime")) });
  const ctx = await context({ env: { DEN_GUESTAGENT_RUNTIME_URL: baseUrl }, manifest: { ...manifest, bunVersion: "1.4.6", runtimes: { "linux-arm64": { ...manifest.runtimes["linux-arm64"]!, file: wrong } } } });
  await expect(findGuestRuntime("aarch64", ctx)).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: expect.stringContaining(wrong) });
});

test.each([
  { name: "bytes that are not zstd", bytes: new Uint8Array([1, 2, 3, 4]), message: "Cannot unpack" },
  { name: "another runtime", bytes: Bun.zstdCompressSync(new TextEncoder().encode("another runtime")), message: `expected ${runtimeBytes.byteLength} bytes with ${sha(runtimeBytes)}` },
])("findGuestRuntime() fails with a hint when the runtime file beside den holds $name", async ({ bytes, message }) => {
  const ctx = await installedWith(bytes);
  await expect(findGuestRuntime("aarch64", ctx)).rejects.toMatchObject({ code: "GUEST_AGENT", message: expect.stringContaining(message), hint: expect.stringContaining("reinstall den") });
});

test.each([
  { name: "an arch den has no agent for", arch: "s390x", manifest },
  { name: "a foreign arch when den knows no runtimes", arch: "aarch64", manifest: null },
  { name: "a foreign arch missing from the manifest", arch: "aarch64", manifest: { ...manifest, runtimes: {} } },
])("findGuestRuntime() returns undefined for $name", async ({ arch, manifest: known }) => {
  expect(await findGuestRuntime(arch, await context({ manifest: known }))).toBeUndefined();
});

test("findGuestRuntime() tightens cache folders an older den left 0777", async () => {
  const ctx = await installedWith(compressed);
  const found = await findGuestRuntime("aarch64", ctx);
  for (const dir of [join(ctx.denHome, "_cache"), join(ctx.denHome, "_cache", "guestagent")]) await chmod(dir, 0o777);
  await findGuestRuntime("aarch64", ctx);
  expect((await stat(join(ctx.denHome, "_cache", "guestagent"))).mode & 0o777).toBe(0o700);
  expect(await readFile(found!.path)).toEqual(Buffer.from(runtimeBytes));
});
