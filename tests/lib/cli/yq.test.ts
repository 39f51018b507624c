import { expect, test } from "bun:test";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { planYq } from "../../../lib/cli/yq.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

const defaults = { outputFormat: "yaml" as const, indent: "2" };

test.each([
  { name: "reads stdin when no file is named", args: [".a", []], options: {}, want: { expr: ".a", inputs: ["-"], format: "yaml", indent: 2 } },
  { name: "drops yq's eval subcommand", args: ["eval", [".a", "f.yaml"]], options: {}, want: { expr: ".a", inputs: ["f.yaml"] } },
  { name: "drops yq's e subcommand", args: ["e", [".a"]], options: {}, want: { expr: ".a", inputs: ["-"] } },
  { name: "reads -o j and -I 0", args: [".", []], options: { outputFormat: "j" as const, indent: "0" }, want: { format: "json", indent: 0 } },
  { name: "reads no input with -n", args: [".a = 1", []], options: { nullInput: true }, want: { inputs: [], nullInput: true } },
  { name: "updates files with -i", args: [".a = 1", ["x.yaml", "y.yaml"]], options: { inplace: true }, want: { inputs: ["x.yaml", "y.yaml"], inPlace: true } },
])("planYq() $name", ({ args, options, want }) => {
  expect(planYq(args[0] as string, [...(args[1] as readonly string[])], { ...defaults, ...options })).toMatchObject(want);
});

test.each([
  { name: "-i without files", args: [".a = 1", []], options: { inplace: true } },
  { name: "-i on stdin", args: [".a = 1", ["-"]], options: { inplace: true } },
  { name: "-n with files", args: [".a", ["x.yaml"]], options: { nullInput: true } },
  { name: "an indent that is no number", args: [".", []], options: { indent: "two" } },
])("planYq() refuses $name", ({ args, options }) => {
  expect(() => planYq(args[0] as string, [...(args[1] as readonly string[])], { ...defaults, ...options })).toThrow(DenError);
});

test("den yq reads stdin and prints as yq does", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["yq", ".images[].arch"], { denHome, stdin: "images:\n  - arch: x86_64\n  - arch: aarch64\n" });
  expect(run.stderr).toBe("");
  expect(run.stdout).toBe("x86_64\naarch64\n");
});

test("den yq -i updates a file in place, keeping its comments and mode", async () => {
  const denHome = await makeDenHome();
  const file = join(denHome, "t.yaml");
  await writeFile(file, "# my vm\ncpus: 2 # few\n", { mode: 0o600 });
  const run = await runDen(["yq", "-i", ".cpus = 4", file], { denHome });
  expect(run.exitCode).toBe(0);
  expect(await readFile(file, "utf8")).toBe("# my vm\ncpus: 4 # few\n");
  expect((await stat(file)).mode & 0o777).toBe(0o600);
});

test("den yq -o json -I 0 prints compact JSON of each file", async () => {
  const denHome = await makeDenHome();
  await writeFile(join(denHome, "a.yaml"), "a: [1]\n");
  const run = await runDen(["yq", "eval", "-o", "json", "-I", "0", ".", "a.yaml"], { denHome });
  expect(run.stdout).toBe('{"a":[1]}\n');
});

test("den yq refuses env() as --set does", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["yq", "-n", "env(HOME)"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain('operator "env" is disabled');
});
