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

test.each([
  { name: "there is no bundle", withBundle: false, arch: "x86_64" },
  { name: "there is no runtime for the arch", withBundle: true, arch: "aarch64" },
])("prepareGuestAgent() is undefined when $name", async ({ withBundle, arch }) => {
  expect(await prepareGuestAgent(arch, await context(withBundle))).toBeUndefined();
});
