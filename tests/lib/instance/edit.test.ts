import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EditFlags } from "../../../lib/config/edit-flags.ts";
import { ConfigError, DenError } from "../../../lib/errors.ts";
import { applyEditFlags, editInstance, editInstanceConfig, editorHeader, type EditorResult, frozenSettingIssues } from "../../../lib/instance/edit.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { killAfterAll, makeInstance, MinimalYaml, ownerProcess, writePid } from "../store/support/fake-instance.ts";

const killLater = killAfterAll();
const defer = deferredCleanups();
const Yaml = `# mine\n${MinimalYaml}cpus: 2\n`;
const ctx = { cwd: "/", home: "/home/u" };

/** An editor that answers `answer(text)` and records what it was shown. */
function fakeEditor(answer: (text: string) => string | EditorResult) {
  const shown: string[] = [];
  const editor = async (text: string): Promise<EditorResult> => {
    shown.push(text);
    const result = answer(text);
    return typeof result === "string" ? { text: result } : result;
  };
  return { editor, shown };
}

test.each<{ name: string; flags: EditFlags; text: string | undefined; warnings: number }>([
  { name: "--cpus", flags: { cpus: "4" }, text: Yaml.replace("cpus: 2", "cpus: 4"), warnings: 0 },
  { name: "--set", flags: { set: [".memory = \"3GiB\""] }, text: `${Yaml}memory: 3GiB\n`, warnings: 0 },
  { name: "no flag", flags: {}, text: undefined, warnings: 0 },
  { name: "a create-only flag", flags: { arch: "aarch64" }, text: undefined, warnings: 1 },
])("applyEditFlags() with $name", ({ flags, text, warnings }) => {
  const result = applyEditFlags(Yaml, flags, { ...ctx, file: "den.yaml" });
  expect(result.text).toBe(text);
  expect(result.warnings).toHaveLength(warnings);
});

test.each<{ name: string; before: { arch: string; disk: string }; after: { arch: string; disk: string }; hasDisk: boolean; paths: string[] }>([
  { name: "no change", before: { arch: "x86_64", disk: "10GiB" }, after: { arch: "x86_64", disk: "10GiB" }, hasDisk: true, paths: [] },
  { name: "a bigger disk", before: { arch: "x86_64", disk: "10GiB" }, after: { arch: "x86_64", disk: "20GiB" }, hasDisk: true, paths: [] },
  { name: "a smaller disk", before: { arch: "x86_64", disk: "10GiB" }, after: { arch: "x86_64", disk: "5GiB" }, hasDisk: true, paths: ["disk"] },
  { name: "another arch", before: { arch: "x86_64", disk: "10GiB" }, after: { arch: "aarch64", disk: "10GiB" }, hasDisk: true, paths: ["arch"] },
  { name: "another arch and no disk yet", before: { arch: "x86_64", disk: "10GiB" }, after: { arch: "aarch64", disk: "5GiB" }, hasDisk: false, paths: [] },
])("frozenSettingIssues() with $name", ({ before, after, hasDisk, paths }) => {
  const issues = frozenSettingIssues(before, after, { name: "vm", hasDisk, file: "den.yaml.REJECTED" });
  expect(issues.map((issue) => issue.path[0])).toEqual(paths);
});

test("editorHeader() says how to abort, that a resumed text was rejected, and shows the merged layers commented", () => {
  const header = editorHeader("vm", { resumed: true, layers: [{ file: "/h/_config/default.yaml", text: "cpus: 4\n\nmemory: 8GiB\n" }, { file: "/h/_config/override.yaml", text: "  \n" }] });
  expect(header).toBe(
    [
      '# Edit the configuration of den instance "vm", then save and quit.',
      "# Saving an empty file aborts the edit. A configuration that does not validate is kept in den.yaml.REJECTED.",
      "# This is the text of an earlier edit that was rejected (den.yaml.REJECTED); delete that file to start over from den.yaml.",
      "#",
      "# WARNING: /h/_config/default.yaml is merged with this file:",
      "# -----------",
      "# cpus: 4",
      "#",
      "# memory: 8GiB",
      "# -----------",
      "",
      "",
    ].join("\n"),
  );
});

test("editInstance() applies flags and replaces den.yaml; without flags it changes nothing", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  expect(await editInstance(home, "vm", {}, ctx)).toEqual([]);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml);
  await editInstance(home, "vm", { cpus: "3" }, ctx);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml.replace("cpus: 2", "cpus: 3"));
  expect((await readdir(dir)).filter((file) => file.endsWith(".tmp") || file === "den.lock")).toEqual([]);
});

test("editInstanceConfig() saves what the editor returns, without the header", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  const { editor, shown } = fakeEditor((text) => text.replace("cpus: 2", "cpus: 5"));
  const outcome = await editInstanceConfig(home, "vm", { ...ctx, flags: {}, editor, header: () => "# header\n\n" });
  expect(outcome).toEqual({ result: "edited", warnings: [], resumed: false });
  expect(shown).toEqual([`# header\n\n${Yaml}`]);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml.replace("cpus: 2", "cpus: 5"));
});

test.each([
  { name: "the same text", answer: (text: string) => text, result: "unchanged" },
  { name: "an empty file", answer: () => "  \n", result: "aborted" },
])("editInstanceConfig() changes nothing for $name", async ({ answer, result }) => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  const outcome = await editInstanceConfig(home, "vm", { ...ctx, flags: {}, editor: fakeEditor(answer).editor });
  expect(outcome.result).toBe(result as "unchanged" | "aborted");
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml);
  expect(existsSync(join(dir, "den.yaml.REJECTED"))).toBe(false);
});

test.each([
  { name: "a value the schema refuses", text: `${MinimalYaml}cpus: many\n`, code: "CONFIG_INVALID" },
  { name: "YAML that does not parse", text: `${MinimalYaml}cpus: [\n`, code: "CONFIG_SYNTAX" },
])("editInstanceConfig() keeps $name in den.yaml.REJECTED and leaves den.yaml as it was", async ({ text, code }) => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  const error = await rejectedDenError(editInstanceConfig(home, "vm", { ...ctx, flags: {}, editor: fakeEditor(() => text).editor }));
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.code).toBe(code as DenError["code"]);
  expect(error.message).toContain(join(dir, "den.yaml.REJECTED"));
  expect(error.hint).toEndWith(`your text is kept in "${join(dir, "den.yaml.REJECTED")}"; run den edit vm to reopen it`);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml);
  expect(await readFile(join(dir, "den.yaml.REJECTED"), "utf8")).toBe(text);
});

test("editInstanceConfig() reopens the rejected text, and removes it once a fixed text is saved", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  await writeFile(join(dir, "den.yaml.REJECTED"), `${MinimalYaml}cpus: many\n`);
  const { editor, shown } = fakeEditor((text) => text.replace("many", "6"));
  const outcome = await editInstanceConfig(home, "vm", { ...ctx, flags: {}, editor, header: ({ resumed }) => (resumed ? "# resumed\n" : "") });
  expect(outcome.resumed).toBe(true);
  expect(shown).toEqual([`# resumed\n${MinimalYaml}cpus: many\n`]);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(`${MinimalYaml}cpus: 6\n`);
  expect(existsSync(join(dir, "den.yaml.REJECTED"))).toBe(false);
});

test("editInstanceConfig() keeps the text of an editor that failed after a change", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  const failure = new DenError("EDITOR_FAILED", 'Cannot edit: the editor "vi" exited with code 1', { hint: "nothing was changed" });
  const error = await rejectedDenError(editInstanceConfig(home, "vm", { ...ctx, flags: {}, editor: fakeEditor((text) => ({ text: `${text}memory: 1GiB\n`, error: failure })).editor }));
  expect(error.code).toBe("EDITOR_FAILED");
  expect(error.hint).toContain("den.yaml.REJECTED");
  expect(await readFile(join(dir, "den.yaml.REJECTED"), "utf8")).toBe(`${Yaml}memory: 1GiB\n`);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml);
});

test("editInstanceConfig() refuses an arch the existing disk was not made for", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", `${MinimalYaml}arch: x86_64\n`);
  await writeFile(join(dir, "disk"), "");
  const error = await rejectedDenError(editInstanceConfig(home, "vm", { ...ctx, flags: { set: ['.arch = "aarch64"'] } }));
  expect(error.code).toBe("CONFIG_INVALID");
  expect(error.message).toContain('Cannot change arch from "x86_64" to "aarch64"');
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(`${MinimalYaml}arch: x86_64\n`);
});

test("editInstanceConfig() edits a running instance and says the change waits for its next start", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  const qemu = killLater(ownerProcess(dir, "qemu.pid"));
  const agent = killLater(ownerProcess(dir, "ha.pid"));
  await writePid(dir, "qemu.pid", qemu.pid);
  await writePid(dir, "ha.pid", agent.pid);
  const outcome = await editInstanceConfig(home, "vm", { ...ctx, flags: { cpus: "4" } });
  expect(outcome.result).toBe("edited");
  expect(outcome.activeStatus).toBeString();
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml.replace("cpus: 2", "cpus: 4"));
});

test("editInstanceConfig() keeps the edit in den.yaml.REJECTED when den.yaml changed meanwhile", async () => {
  const home = await tempDir(defer);
  const dir = await makeInstance(home, "vm", Yaml);
  const editor = fakeEditor((text) => {
    Bun.spawnSync(["sh", "-c", `printf 'cpus: 9\\n' >> "$1"`, "sh", join(dir, "den.yaml")]);
    return text.replace("cpus: 2", "cpus: 7");
  }).editor;
  const error = await rejectedDenError(editInstanceConfig(home, "vm", { ...ctx, flags: {}, editor }));
  expect(error.message).toBe('Cannot save the edit of instance "vm": den.yaml changed while it was being edited');
  expect(await readFile(join(dir, "den.yaml.REJECTED"), "utf8")).toBe(Yaml.replace("cpus: 2", "cpus: 7"));
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(`${Yaml}cpus: 9\n`);
});

test.each([
  { name: "a missing instance", instance: "nope", code: "INSTANCE_NOT_FOUND" },
  { name: "a name with a path", instance: "../x", code: "INSTANCE_NAME_INVALID" },
  { name: "den's own folder", instance: "_config", code: "INSTANCE_NAME_INVALID" },
])("editInstanceConfig() refuses $name", async ({ instance, code }) => {
  const home = await tempDir(defer);
  await makeInstance(home, "vm", Yaml);
  const error = await rejectedDenError(editInstanceConfig(home, instance, { ...ctx, flags: { cpus: "4" } }));
  expect(error.code).toBe(code as DenError["code"]);
});
