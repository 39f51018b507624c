import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findAgentBundle } from "../../../lib/guestagent/agent-bundle.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const named = (name: string, bytes: Uint8Array) => Object.assign(new Blob([bytes]), { name });
const bundle = new TextEncoder().encode("console.log('agent')");

test("findAgentBundle() unpacks the bundle a compiled den embeds", async () => {
  const files = [named("den-guestagent-runtime-bun-1.4.5-linux-arm64-aaaa.zst", new Uint8Array(4)), named("den-guestagent-bundle-1a2b3c4d.zst", Bun.zstdCompressSync(bundle))];
  expect(await findAgentBundle({ embeddedFiles: files, distDir: "/nonexistent" })).toEqual(bundle);
});

test("findAgentBundle() reads dist/agent/den-guestagent.js when nothing is embedded, and is undefined without it", async () => {
  const distDir = await tempDir(defer);
  expect(await findAgentBundle({ embeddedFiles: [], distDir })).toBeUndefined();
  await writeFile(join(distDir, "den-guestagent.js"), bundle);
  expect(await findAgentBundle({ embeddedFiles: [], distDir })).toEqual(bundle);
});

test("findAgentBundle() fails with a hint when the embedded bundle is damaged", async () => {
  const files = [named("den-guestagent-bundle-1a2b3c4d.zst", new Uint8Array([1, 2, 3]))];
  await expect(findAgentBundle({ embeddedFiles: files })).rejects.toMatchObject({ code: "GUEST_AGENT", hint: expect.stringContaining("reinstall") });
});
