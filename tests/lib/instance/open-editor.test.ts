import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { editInstanceConfig } from "../../../lib/instance/edit.ts";
import { detectEditor, terminalEditor } from "../../../lib/instance/open-editor.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { makeInstance, MinimalYaml } from "../store/support/fake-instance.ts";

const defer = deferredCleanups();
const Yaml = `${MinimalYaml}cpus: 2\n`;

test.each<{ name: string; env: Record<string, string>; found: string[]; editor: string | undefined }>([
  { name: "VISUAL before EDITOR", env: { VISUAL: "nano", EDITOR: "vim" }, found: ["nano", "vim", "vi"], editor: "nano" },
  { name: "EDITOR with arguments", env: { EDITOR: "code --wait" }, found: ["code", "vi"], editor: "code --wait" },
  { name: "a VISUAL that is not installed", env: { VISUAL: "nope", EDITOR: "vim" }, found: ["vim"], editor: "vim" },
  { name: "nothing set", env: {}, found: ["vim", "vi"], editor: "vim" },
  { name: "only emacs", env: { EDITOR: " " }, found: ["emacs"], editor: "emacs" },
  { name: "no editor at all", env: {}, found: [], editor: undefined },
])("detectEditor() with $name", ({ env, found, editor }) => {
  expect(detectEditor({ env, which: (program) => (found.includes(program) ? `/usr/bin/${program}` : null) })).toBe(editor);
});

/** An $EDITOR script that runs `sed EXPR` on the file in place. */
async function sedEditor(folder: string, expr: string): Promise<string> {
  const script = join(folder, "fake-editor");
  await writeFile(script, `#!/bin/sh\nsed -e '${expr}' "$1" > "$1.new" && mv "$1.new" "$1"\n`);
  await chmod(script, 0o755);
  return script;
}

test.each([
  { name: "a valid edit", expr: "s/^cpus: 2$/cpus: 3/", result: "edited", saved: Yaml.replace("cpus: 2", "cpus: 3"), rejected: undefined },
  { name: "an unchanged text", expr: "s/^nothing$//", result: "unchanged", saved: Yaml, rejected: undefined },
  { name: "an invalid edit", expr: "s/^cpus: 2$/cpus: -3/", result: "rejected", saved: Yaml, rejected: Yaml.replace("cpus: 2", "cpus: -3") },
])("den edit with a fake $EDITOR script: $name", async ({ expr, result, saved, rejected }) => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  const editor = terminalEditor({ env: { EDITOR: await sedEditor(home, expr), PATH: process.env.PATH }, which: Bun.which });
  const header = () => "# edit it\n";
  if (result === "rejected") {
    const error = await rejectedDenError(editInstanceConfig(home, "vm", { cwd: "/", flags: {}, editor, header }));
    expect(error.code).toBe("CONFIG_INVALID");
  } else {
    expect((await editInstanceConfig(home, "vm", { cwd: "/", flags: {}, editor, header })).result).toBe(result as "edited" | "unchanged");
  }
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(saved);
  if (rejected === undefined) expect(existsSync(join(dir, "den.yaml.REJECTED"))).toBe(false);
  else expect(await readFile(join(dir, "den.yaml.REJECTED"), "utf8")).toBe(rejected);
});

test("terminalEditor() reports an editor that exits with an error", async () => {
  const editor = terminalEditor({ env: { EDITOR: "false", PATH: process.env.PATH }, which: Bun.which });
  const answer = await editor("cpus: 2\n", { name: "vm" });
  expect(answer.text).toBe("cpus: 2\n");
  expect(answer.error?.code).toBe("EDITOR_FAILED");
  expect(answer.error?.message).toBe('Cannot edit: the editor "false" exited with code 1');
});

test("terminalEditor() refuses when no editor can be found", async () => {
  const editor = terminalEditor({ env: { VISUAL: "nope-editor" }, which: () => null });
  const error = await rejectedDenError(editor("x: 1\n", { name: "vm" }));
  expect(error.code).toBe("EDITOR_FAILED");
  expect(error.message).toBe("Cannot find a text editor");
});
