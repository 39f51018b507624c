import { expect, test } from "bun:test";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runUrlPlugin, urlPluginFileNames } from "../../../lib/plugins/run-url-plugin.ts";
import { rejectedError } from "../../support/caught-den-error.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

async function dirWith(scripts: Record<string, string>): Promise<string> {
  const dir = await makeTempDir("den-url-");
  for (const [name, body] of Object.entries(scripts)) {
    await writeFile(join(dir, name), body);
    await chmod(join(dir, name), 0o755);
  }
  return dir;
}

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

test.each<{ scheme: string; want: string[] }>([
  { scheme: "dev", want: ["den-url-dev", "limactl-url-dev"] },
  { scheme: "Fedora-Rawhide", want: ["den-url-fedora-rawhide", "limactl-url-fedora-rawhide"] },
  { scheme: "a..b", want: [] },
])("urlPluginFileNames() of $scheme is $want", ({ scheme, want }) => {
  expect(urlPluginFileNames(scheme)).toEqual(want);
});

test("runUrlPlugin() prints the trimmed answer of den-url-S, den's before Lima's", async () => {
  const dir = await dirWith({ "den-url-dev": '#!/bin/sh\necho "  https://x/$1.yaml  "\n', "limactl-url-dev": "#!/bin/sh\necho lima\n" });
  expect(await runUrlPlugin("dev", "web app", { dirs: [dir], env })).toBe("https://x/web app.yaml");
});

test("runUrlPlugin() runs Lima's limactl-url-S when den has none, and says undefined when neither exists", async () => {
  const dir = await dirWith({ "limactl-url-dev": "#!/bin/sh\necho /tmp/lima.yaml\n" });
  expect(await runUrlPlugin("dev", "x", { dirs: [dir], env })).toBe("/tmp/lima.yaml");
  expect(await runUrlPlugin("prod", "x", { dirs: [dir], env })).toBeUndefined();
});

test.each([
  { name: "a failing plugin with its stderr", body: "#!/bin/sh\necho 'no such template' >&2\nexit 3\n", message: 'exited with status 3: no such template' },
  { name: "a plugin that prints nothing", body: "#!/bin/sh\n", message: "printed nothing" },
  { name: "a plugin that prints two lines", body: "#!/bin/sh\necho a\necho b\n", message: "printed more than one line" },
  { name: "a plugin that hangs", body: "#!/bin/sh\nexec sleep 10\n", message: "did not finish within 0.3 s" },
])("runUrlPlugin() refuses $name", async ({ body, message }) => {
  const dir = await dirWith({ "den-url-bad": body });
  const error = await rejectedError(runUrlPlugin("bad", "x", { dirs: [dir], env, timeoutMs: 300 }), DenError);
  expect(error.code).toBe("PLUGIN_FAILED");
  expect(error.message).toContain('Cannot resolve locator "bad:x"');
  expect(error.message).toContain(message);
  expect(error.hint).toBeDefined();
});
