import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importTarget, repoRoot } from "../../support/import-specifiers.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { normalizeTtyFlags } from "../../../lib/cli/program.ts";

test.each([
  { name: "before the command", args: ["--log-format", "json", "list"] },
  { name: "after the command", args: ["list", "--log-format", "json"] },
  { name: "after a subcommand's subcommand", args: ["template", "list", "--debug", "--log-format=json", "--json"] },
])("den accepts its global flags $name", async ({ args }) => {
  const denHome = await makeDenHome();
  const run = await runDen(args, { denHome });
  expect(run.exitCode).toBe(0);
  if (args[0] !== "template") expect(JSON.parse(run.stderr.trim().split("\n")[0] ?? "")).toMatchObject({ level: "warn" });
});

test("a global flag given before the command is kept when the command repeats another one", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["--log-format", "json", "list", "--debug"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain('"level":"warn"');
});

test.each([
  { argv: ["start", "--tty=false"], want: ["start", "--no-tty"] },
  { argv: ["--tty=true", "list"], want: ["--tty", "list"] },
  { argv: ["--tty=0", "create"], want: ["--no-tty", "create"] },
  { argv: ["shell", "vm", "prog", "--tty=false"], want: ["shell", "vm", "prog", "--tty=false"] },
  { argv: ["copy", "--", "--tty=false"], want: ["copy", "--", "--tty=false"] },
  { argv: ["list", "--tty=maybe"], want: ["list", "--tty=maybe"] },
  { argv: ["docker", "run", "--tty=false", "x"], want: ["docker", "run", "--tty=false", "x"] },
  { argv: ["--debug", "podman", "--instance", "vm", "run", "--tty=true"], want: ["--debug", "podman", "--instance", "vm", "run", "--tty=true"] },
  { argv: ["--tty=false", "kubectl", "--tty=false"], want: ["--no-tty", "kubectl", "--tty=false"] },
  { argv: ["start", "docker", "--tty=false"], want: ["start", "docker", "--no-tty"] },
  { argv: ["stop", "shell", "--tty=false"], want: ["stop", "shell", "--no-tty"] },
  { argv: ["/usr/bin/bun", "/work/main.ts", "nerdctl", "--tty=false"], want: ["/usr/bin/bun", "/work/main.ts", "nerdctl", "--tty=false"] },
] as { argv: string[]; want: string[] }[])("normalizeTtyFlags($argv) reads Lima's --tty=BOOL spelling", ({ argv, want }) => {
  expect(normalizeTtyFlags(argv)).toEqual(want);
});

// What a run loads before its command's action: every command's declaration. An implementation imported there would
// be loaded by `den --version`, help and completion too (and by `den list`), so declarations import only commander and
// a few constants; the actions await import() what they need. Type-only imports are erased and do not count.
const runtimeImport = /^[ \t]*import\s+(?!type\s)[^;]*?\bfrom\s*["']([^"']+)["']/gms;

/** Every repo file and package `entry` loads at run time through static imports (not through import()). */
function staticallyLoaded(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const code = readFileSync(join(repoRoot, file), "utf8").replace(/^[ \t]*\/\/.*$/gm, "");
    for (const [, specifier] of code.matchAll(runtimeImport)) {
      if (specifier === undefined || specifier.startsWith("node:")) continue;
      if (specifier.startsWith(".")) queue.push(importTarget(file, specifier));
      else packages.add(specifier);
    }
  }
  return { files, packages };
}

test("den --version (main.ts) loads nothing but the version module before it answers", () => {
  const { files, packages } = staticallyLoaded("main.ts");
  expect({ files: [...files].sort(), packages: [...packages] }).toEqual({ files: ["lib/version.ts", "main.ts", "package.json"], packages: [] });
});

test("den's CLI start (run-cli.ts and every command's declaration) loads commander and no command's implementation", () => {
  const { files, packages } = staticallyLoaded("lib/cli/run-cli.ts");
  expect([...packages]).toEqual(["@commander-js/extra-typings"]);
  const heavy = [...files].filter((file) => /^(drivers|agent|cidata)\/|^lib\/(config|hostagent|status|instance|ssh|images|yq|gotemplate|portfwd|mounts)\//.test(file));
  expect(heavy).toEqual([]);
  expect(files.has("lib/cli/list.ts")).toBe(false);
});

test("den list loads neither the host agent's client nor the yq engine before it needs them", () => {
  const { files, packages } = staticallyLoaded("lib/cli/list.ts");
  expect(packages.has("ssh2")).toBe(false);
  expect([...files].filter((file) => /^lib\/(hostagent|yq)\//.test(file))).toEqual([]);
});
