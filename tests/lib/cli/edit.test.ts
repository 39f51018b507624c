import { expect, test } from "bun:test";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { editFlagsGiven, editMessages } from "../../../lib/cli/edit.ts";
import type { EditFlags } from "../../../lib/config/edit-flags.ts";
import type { EditOutcome } from "../../../lib/instance/edit.ts";
import { buildProgram } from "../../../lib/cli/program.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { makeInstance, MinimalYaml } from "../store/support/fake-instance.ts";

const defer = deferredCleanups();

test.each<{ name: string; flags: EditFlags; given: boolean }>([
  { name: "no flag", flags: {}, given: false },
  { name: "empty lists", flags: { set: [], mount: [] }, given: false },
  { name: "a false switch", flags: { plain: false }, given: false },
  { name: "--cpus", flags: { cpus: "2" }, given: true },
  { name: "--set", flags: { set: [".cpus = 2"] }, given: true },
  { name: "--mount-none", flags: { mountNone: true }, given: true },
  { name: "a create-only flag", flags: { arch: "aarch64" }, given: true },
])("editFlagsGiven() is $given for $name", ({ flags, given }) => {
  expect(editFlagsGiven(flags)).toBe(given);
});

test.each<{ result: EditOutcome["result"]; active: string | undefined; info: string[] }>([
  { result: "edited", active: undefined, info: ['Instance "vm" configuration edited'] },
  { result: "edited", active: "Running", info: ['Instance "vm" configuration edited', 'Instance "vm" is Running: the change applies when it next starts (den restart vm)'] },
  { result: "unchanged", active: undefined, info: ['Instance "vm" is unchanged: the configuration is the same'] },
  { result: "aborted", active: undefined, info: ["Aborting: the file was saved empty, nothing changed"] },
])("editMessages() for an outcome $result (active: $active)", ({ result, active, info }) => {
  expect(editMessages("vm", { result, warnings: ["w"], resumed: false, activeStatus: active })).toEqual({ info, warn: ["w"] });
});

test.each<{ command: string; args: string[]; options: string[] }>([
  { command: "edit", args: ["[instance]"], options: ["--start", "--cpus", "--set"] },
  { command: "clone", args: ["<instance>", "<new-name>"], options: ["--start", "--cpus", "--set"] },
  { command: "rename", args: ["<instance>", "<new-name>"], options: ["--start", "--cpus", "--set"] },
  { command: "factory-reset", args: ["[instance]"], options: [] },
])("den $command is declared with its arguments and flags", ({ command, args, options }) => {
  const found = buildProgram().commands.find((each) => each.name() === command);
  expect(found).toBeDefined();
  expect(found?.registeredArguments.map((arg) => (arg.required ? `<${arg.name()}>` : `[${arg.name()}]`))).toEqual(args);
  const longs = found?.options.map((option) => option.long);
  for (const option of options) expect(longs).toContain(option);
});

async function den(home: string, args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(["bun", join(import.meta.dir, "../../../main.ts"), ...args], { env: { ...process.env, DEN_HOME: home, ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

test("den --tty edit runs $EDITOR and saves the validated text", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", `${MinimalYaml}cpus: 2\n`);
  const script = join(home, "fake-editor");
  await writeFile(script, `#!/bin/sh\nsed -e 's/^cpus: 2$/cpus: 3/' "$1" > "$1.new" && mv "$1.new" "$1"\n`);
  await chmod(script, 0o755);
  const result = await den(home, ["--tty", "edit", "vm"], { EDITOR: script, VISUAL: "" });
  expect(result.stderr).toContain('Instance "vm" configuration edited');
  expect(result.code).toBe(0);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(`${MinimalYaml}cpus: 3\n`);
});

test("den edit without flags and without a terminal refuses", async () => {
  const home = await tempDir(defer);
  await makeInstance(home, "vm", MinimalYaml);
  const result = await den(home, ["--no-tty", "edit", "vm"]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('error: Cannot edit instance "vm": no edit flag was given, and without a terminal den opens no editor');
});
