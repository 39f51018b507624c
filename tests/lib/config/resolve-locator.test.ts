import { expect, test } from "bun:test";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { customLocator, resolveLocator } from "../../../lib/config/resolve-locator.ts";
import { DenError } from "../../../lib/errors.ts";
import { rejectedError } from "../../support/caught-den-error.ts";
import { makeDenHome, runDen } from "../cli/support/run-den.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

test.each([
  { text: "github:org/repo", want: { scheme: "github", rest: "org/repo" } },
  { text: "Dev:web", want: { scheme: "dev", rest: "web" } },
  { text: "template:docker", want: undefined },
  { text: "https://x/y.yaml", want: undefined },
  { text: "FILE:///x.yaml", want: undefined },
  { text: "c:/x.yaml", want: undefined },
  { text: "./dev:web", want: undefined },
  { text: "/abs/path.yaml", want: undefined },
  { text: "-", want: undefined },
])("customLocator() of $text is $want", ({ text, want }) => {
  expect(customLocator(text)).toEqual(want);
});

/** A fake plugin table: scheme → (rest → answer). */
function plugins(table: Record<string, (rest: string) => string>) {
  return async (scheme: string, rest: string) => table[scheme]?.(rest);
}

const base = { cwd: "/work", home: "/home/u", exists: () => false };

type PluginTable = Record<string, (rest: string) => string>;

test.each<{ name: string; text: string; table: PluginTable; want: string; chain: string[] }>([
  { name: "a locator den reads passes unchanged", text: "template:docker", table: {}, want: "template:docker", chain: ["template:docker"] },
  { name: "a plugin's URL", text: "dev:web", table: { dev: (rest: string) => `https://x/${rest}.yaml` }, want: "https://x/web.yaml", chain: ["dev:web", "https://x/web.yaml"] },
  { name: "a plugin's relative path, from the working folder", text: "dev:web", table: { dev: () => "t/web.yaml" }, want: "/work/t/web.yaml", chain: ["dev:web", "/work/t/web.yaml"] },
  { name: "a plugin's ~ path", text: "dev:web", table: { dev: () => "~/t.yaml" }, want: "/home/u/t.yaml", chain: ["dev:web", "/home/u/t.yaml"] },
  {
    name: "a chain of plugins",
    text: "aa:x",
    table: { aa: (rest: string) => `bb:${rest}`, bb: (rest: string) => `template:${rest}` },
    want: "template:x",
    chain: ["aa:x", "bb:x", "template:x"],
  },
])("resolveLocator() resolves $name", async ({ text, table, want, chain }) => {
  const resolved = await resolveLocator(text, { ...base, urlPlugin: plugins(table) });
  expect(resolved.locator).toBe(want);
  expect(resolved.chain).toEqual(chain);
});

test.each<{ name: string; table: PluginTable; message: string }>([
  { name: "a plugin that answers with itself", table: { aa: (rest: string) => `aa:${rest}` }, message: "it resolves in a loop: aa:x -> aa:x" },
  { name: "two plugins that answer each other", table: { aa: (rest: string) => `bb:${rest}`, bb: (rest: string) => `aa:${rest}` }, message: "it resolves in a loop: aa:x -> bb:x -> aa:x" },
  { name: "an endless chain", table: { aa: (rest: string) => `aa:${rest}x` }, message: "more than 10 redirects" },
])("resolveLocator() refuses $name", async ({ table, message }) => {
  const error = await rejectedError(resolveLocator("aa:x", { ...base, urlPlugin: plugins(table) }), DenError);
  expect(error.code).toBe("PLUGIN_FAILED");
  expect(error.message).toContain(message);
});

test("resolveLocator() names the missing plugin for an unknown scheme, and reads an existing file of that name as Lima does", async () => {
  const error = await rejectedError(resolveLocator("zz:x", { ...base, urlPlugin: plugins({}) }), DenError);
  expect(error.code).toBe("LOCATOR_INVALID");
  expect(error.message).toBe('Cannot use template locator "zz:x": no plugin handles the scheme "zz"');
  expect(error.hint).toContain('"den-url-zz"');
  const file = await resolveLocator("zz:x", { ...base, urlPlugin: plugins({}), exists: (path) => path === "/work/zz:x" });
  expect(file.locator).toBe("zz:x");
});

test("resolveLocator() turns github: into a raw URL and warns that the scheme is experimental", async () => {
  const github = { fetch: async () => new Response("", { status: 500 }) };
  const resolved = await resolveLocator("github:lima-vm/lima/templates/docker@master", { ...base, github });
  expect(resolved.locator).toBe("https://raw.githubusercontent.com/lima-vm/lima/master/templates/docker.yaml");
  expect(resolved.warnings).toEqual(["The github: scheme is still experimental"]);
});

// --- through den create, with stand-in plugins on PATH ---

async function standIns(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await makeTempDir("den-url-cli-");
  await writeFile(join(dir, "web.yaml"), "images:\n- location: /nonexistent/den-test.img\n  arch: x86_64\nbase: base.yaml\n");
  await writeFile(join(dir, "base.yaml"), "cpus: 3\n");
  const scripts: Record<string, string> = {
    "den-url-test": `#!/bin/sh\necho "${dir}/$1.yaml"\n`,
    "limactl-url-lima": `#!/bin/sh\necho "test:$1"\n`,
    "den-url-loop": '#!/bin/sh\necho "pool:$1"\n',
    "den-url-pool": '#!/bin/sh\necho "loop:$1"\n',
    "den-url-env": `#!/bin/sh\necho "$DEN_HOME" > "${dir}/seen-home"\necho "${dir}/web.yaml"\n`,
  };
  for (const [name, body] of Object.entries(scripts)) {
    await writeFile(join(dir, name), body);
    await chmod(join(dir, name), 0o755);
  }
  return { dir, env: { PATH: `${dir}:${process.env.PATH}` } };
}

test("den create test:web reads the local file the plugin names, with its relative base", async () => {
  const { env } = await standIns();
  const denHome = await makeDenHome();
  const run = await runDen(["create", "test:web"], { denHome, env });
  expect(run.exitCode).toBe(0);
  const yaml = await readFile(join(denHome, "web", "den.yaml"), "utf8");
  expect(yaml).toContain("cpus: 3");
});

test("den create runs Lima's limactl-url-S plugins and passes DEN_HOME to plugins", async () => {
  const { dir, env } = await standIns();
  const denHome = await makeDenHome();
  expect((await runDen(["create", "lima:web", "--name", "viaLima"], { denHome, env })).exitCode).toBe(0);
  expect((await runDen(["create", "env:x", "--name", "env"], { denHome, env })).exitCode).toBe(0);
  expect((await readFile(join(dir, "seen-home"), "utf8")).trim()).toBe(denHome);
});

test("den create refuses a locator whose plugins answer each other", async () => {
  const { env } = await standIns();
  const run = await runDen(["create", "loop:web"], { denHome: await makeDenHome(), env });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain('error: Cannot resolve template locator "loop:web": it resolves in a loop: loop:web -> pool:web -> loop:web');
});

test("den create of a template naming a plugin scheme in base: resolves it", async () => {
  const { dir, env } = await standIns();
  await writeFile(join(dir, "top.yaml"), "base: test:web\nmemory: 3GiB\n");
  const denHome = await makeDenHome();
  const run = await runDen(["create", join(dir, "top.yaml")], { denHome, env });
  expect(run.exitCode).toBe(0);
  const yaml = await readFile(join(denHome, "top", "den.yaml"), "utf8");
  expect(yaml).toContain("cpus: 3");
  expect(yaml).toContain("/nonexistent/den-test.img");
});
