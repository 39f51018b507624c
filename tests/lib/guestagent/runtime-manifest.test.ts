import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { agentTargetFor, builtInRuntimeManifest, nativeAgentTarget, parseRuntimeManifest, runtimeFileName } from "../../../lib/guestagent/runtime-manifest.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const hex = (c: string) => c.repeat(64);
const manifest = {
  bunVersion: "1.4.5",
  baseUrl: "https://example.org/den/download/v1",
  runtimes: { "linux-arm64": { file: "den-guestagent-runtime-bun-1.4.5-linux-arm64.zst", sha256: hex("a"), size: 10, compressedSha256: hex("b"), compressedSize: 5 } },
};

test.each([
  { arch: "x86_64", target: "linux-x64" },
  { arch: "aarch64", target: "linux-arm64" },
  { arch: "riscv64", target: undefined },
])("agentTargetFor($arch) is $target", ({ arch, target }) => {
  expect(agentTargetFor(arch)).toBe(target);
});

test.each([
  { arch: "x86_64", libc: "glibc" as const, target: "linux-x64" },
  { arch: "x86_64", libc: "musl" as const, target: "linux-x64-musl" },
  { arch: "aarch64", libc: "musl" as const, target: "linux-arm64-musl" },
  { arch: "riscv64", libc: "musl" as const, target: undefined },
])("agentTargetFor($arch, { libc: $libc }) is $target", ({ arch, libc, target }) => {
  expect(agentTargetFor(arch, { libc })).toBe(target);
});

test.each([
  { platform: "linux", arch: "x64", target: "linux-x64" },
  { platform: "linux", arch: "arm64", target: "linux-arm64" },
  { platform: "darwin", arch: "arm64", target: undefined },
  { platform: "linux", arch: "riscv64", target: undefined },
])("nativeAgentTarget($platform, $arch) is $target", ({ platform, arch, target }) => {
  expect(nativeAgentTarget(platform, arch)).toBe(target);
});

test("runtimeFileName() names the Bun version and the target", () => {
  expect(runtimeFileName("1.4.5", "linux-arm64")).toBe("den-guestagent-runtime-bun-1.4.5-linux-arm64.zst");
});

test("parseRuntimeManifest() reads a manifest", () => {
  expect(parseRuntimeManifest(JSON.stringify(manifest), "m.json")).toEqual(manifest);
});

test.each([
  { name: "text that is not JSON", text: "{", reason: "Cannot read m.json" },
  { name: "a sha256 that is not hex", text: JSON.stringify({ ...manifest, runtimes: { "linux-x64": { ...manifest.runtimes["linux-arm64"], sha256: "xyz" } } }), reason: "runtimes.linux-x64.sha256" },
  { name: "an unknown target", text: JSON.stringify({ ...manifest, runtimes: { "linux-riscv64": manifest.runtimes["linux-arm64"] } }), reason: "Cannot read m.json" },
])("parseRuntimeManifest() refuses $name with a hint", ({ text, reason }) => {
  expect(() => parseRuntimeManifest(text, "m.json")).toThrow(expect.objectContaining({ code: "GUEST_AGENT", message: expect.stringContaining(reason), hint: expect.stringContaining("scripts/build.ts") }));
});

test("builtInRuntimeManifest() reads dist/agent/ of a source checkout, and is undefined without one", async () => {
  const dist = await tempDir(defer);
  expect(builtInRuntimeManifest(dist)).toBeUndefined();
  await writeFile(join(dist, "runtime-manifest.json"), JSON.stringify(manifest));
  expect(builtInRuntimeManifest(dist)).toEqual(manifest);
});
