import { expect, test } from "bun:test";
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
