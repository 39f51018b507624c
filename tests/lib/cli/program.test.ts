import { describe, expect, test } from "bun:test";
import type { Command } from "@commander-js/extra-typings";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importTarget, repoRoot } from "../../support/import-specifiers.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { commandWord } from "../../../lib/cli/command-word.ts";
import { buildProgram, CommandNames, normalizeTtyFlags } from "../../../lib/cli/program.ts";

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

describe("one command built alone (main.ts builds only the command a run names)", () => {
  const whole = buildProgram();
  const wholeCommands = whole.commands as unknown as Command[];

  test("CommandNames, known without building a command, are the names and aliases of the whole tree's commands", () => {
    expect([...CommandNames].sort()).toEqual(wholeCommands.flatMap((command) => [command.name(), ...command.aliases()]).sort());
  });

  test.each([...CommandNames].filter((name) => name !== "help" && name !== "completion"))("den %s: built alone, it is the same command, with the same help", (name) => {
    const alone = buildProgram({ command: name }).commands as unknown as Command[];
    expect(alone.map((command) => command.name())).toHaveLength(1);
    const same = wholeCommands.find((command) => command.name() === alone[0]!.name()) as Command;
    expect([same.name(), ...same.aliases()]).toContain(name);
    expect(alone[0]!.helpInformation()).toBe(same.helpInformation());
  });

  test.each(["help", "completion", "nope", undefined])("den %s gets the whole tree, which it describes or suggests from", (name) => {
    expect(buildProgram({ command: name }).commands.map((command) => command.name())).toEqual(wholeCommands.map((command) => command.name()));
  });

  test("a word that names no command gets commander's suggestion from the whole tree", async () => {
    const run = await runDen(["lst"], { denHome: await makeDenHome() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("unknown command 'lst'");
    expect(run.stderr).toContain("(Did you mean one of list, ls?)");
  });
});

test.each<{ words: string[]; want: { word: string; rest: string[] } | undefined }>([
  { words: ["list"], want: { word: "list", rest: [] } },
  { words: ["--debug", "--log-format", "json", "-y", "shell", "vm", "--debug"], want: { word: "shell", rest: ["vm", "--debug"] } },
  { words: ["--log-format=json", "--tty=false", "hello", "--", "x"], want: { word: "hello", rest: ["--", "x"] } },
  { words: ["--help", "list"], want: undefined },
  { words: ["-v"], want: undefined },
  { words: ["--bogus", "list"], want: undefined },
  { words: ["--log-format"], want: undefined },
  { words: [], want: undefined },
])("commandWord() of $words is $want", ({ words, want }) => {
  expect(commandWord(["bun", "main.ts", ...words])).toEqual(want);
});
