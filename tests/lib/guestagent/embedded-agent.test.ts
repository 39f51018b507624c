import { expect, test } from "bun:test";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { agentTargetFor, findGuestAgent } from "../../../lib/guestagent/embedded-agent.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();

function embedded(name: string, text: string): Blob {
  return Object.assign(new Blob([Bun.zstdCompressSync(new TextEncoder().encode(text))]), { name });
}

test.each([
  { arch: "x86_64", target: "linux-x64" },
  { arch: "aarch64", target: "linux-arm64" },
  { arch: "riscv64", target: undefined },
])("agentTargetFor($arch) is $target", ({ arch, target }) => {
  expect(agentTargetFor(arch)).toBe(target);
});

test("findGuestAgent() unpacks the embedded agent for the arch once into the cache", async () => {
  const denHome = await tempDir(defer);
  const files = [embedded("den-guestagent-linux-arm64-aaaa.zst", "arm agent"), embedded("den-guestagent-linux-x64-bbbb.zst", "x64 agent")];
  const found = await findGuestAgent("x86_64", { denHome, embeddedFiles: files, distDir: "/nonexistent" });
  expect(found?.path.startsWith(join(denHome, "_cache", "guestagent", "linux-x64-"))).toBe(true);
  expect(await readFile(found?.path ?? "", "utf8")).toBe("x64 agent");
  expect(found?.size).toBe(9);
  expect(found?.sha256).toBe(new Bun.CryptoHasher("sha256").update("x64 agent").digest("hex"));
  expect((await stat(found?.path ?? "")).mode & 0o777).toBe(0o600);
  const before = (await stat(found?.path ?? "")).mtimeMs;
  await Bun.sleep(5);
  const again = await findGuestAgent("x86_64", { denHome, embeddedFiles: files, distDir: "/nonexistent" });
  expect(again).toEqual(found);
  expect((await stat(again?.path ?? "")).mtimeMs).toBe(before);
});

test("findGuestAgent() reads dist/agent/ when nothing is embedded (den run from source)", async () => {
  const denHome = await tempDir(defer);
  const distDir = await tempDir(defer);
  await writeFile(join(distDir, "den-guestagent-linux-arm64.zst"), Bun.zstdCompressSync(new TextEncoder().encode("from dist")));
  const found = await findGuestAgent("aarch64", { denHome, embeddedFiles: [], distDir });
  expect(await readFile(found?.path ?? "", "utf8")).toBe("from dist");
});

test.each([
  { name: "no agent is embedded or built", arch: "x86_64" },
  { name: "the arch has no agent", arch: "s390x" },
])("findGuestAgent() returns undefined when $name", async ({ arch }) => {
  expect(await findGuestAgent(arch, { denHome: await tempDir(defer), embeddedFiles: [], distDir: "/nonexistent" })).toBeUndefined();
});

test("findGuestAgent() fails with a hint when the compressed agent is damaged", async () => {
  const files = [Object.assign(new Blob([new Uint8Array([1, 2, 3, 4])]), { name: "den-guestagent-linux-x64-cccc.zst" })];
  await expect(findGuestAgent("x86_64", { denHome: await tempDir(defer), embeddedFiles: files })).rejects.toMatchObject({ code: "GUEST_AGENT", hint: expect.stringContaining("rebuild") });
});
