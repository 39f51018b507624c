import { expect, test } from "bun:test";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { templateUrl } from "../../../lib/cli/template.ts";
import { builtinTemplates } from "../../../lib/config/builtin-templates.ts";
import { parseLocator } from "../../../lib/config/locator.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

test("den template list shows the templates and hides the _ ones", async () => {
  const denHome = await makeDenHome();
  await mkdir(join(denHome, "_templates"));
  await writeFile(join(denHome, "_templates", "mine.yaml"), "cpus: 1\n");
  const run = await runDen(["template", "list"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toMatch(/^NAME +LOCATION$/m);
  expect(run.stdout).toMatch(/^debian +\(built-in\)$/m);
  expect(run.stdout).toMatch(new RegExp(`^mine +${join(denHome, "_templates", "mine.yaml")}$`, "m"));
  expect(run.stdout).not.toContain("_images");
});

test("den tmpl list --json prints name and location objects", async () => {
  const run = await runDen(["tmpl", "list", "--json"], { denHome: await makeDenHome() });
  const list = JSON.parse(run.stdout) as { name: string; location: string }[];
  expect(list).toContainEqual({ name: "default", location: "(built-in)" });
  expect(list.every((entry) => !entry.name.startsWith("_"))).toBe(true);
});

test.each([{ arg: "debian" }, { arg: "template:debian" }, { arg: "_images/debian-13" }])("den template show $arg prints the stored text", async ({ arg }) => {
  const run = await runDen(["template", "show", arg], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  const name = arg.replace(/^template:/, "");
  expect(run.stdout).toBe(builtinTemplates.get(name)!);
});

test.each([
  { name: "by default, with absolute base locators", flags: [], want: ["- template:_images/debian-13"], not: [] },
  { name: "with --verbatim", flags: ["--verbatim"], want: ["base:"], not: [] },
  { name: "with --embed", flags: ["--embed"], want: ["debian-13-genericcloud-amd64", "# Debian 13 (trixie)"], not: ["base:"] },
  { name: "with --fill", flags: ["--fill"], want: ["vmType: qemu", "mountPoint:"], not: ["base:"] },
])("den template copy writes to stdout $name", async ({ flags, want, not }) => {
  const run = await runDen(["template", "copy", ...flags, "template:debian", "-"], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  for (const text of want) expect(run.stdout).toContain(text);
  for (const text of not) expect(run.stdout).not.toContain(text);
});

test("den template copy writes DEST and makes relative bases absolute", async () => {
  const denHome = await makeDenHome();
  await mkdir(join(denHome, "t"));
  await writeFile(join(denHome, "t", "vm.yaml"), "base: common.yaml\n");
  const run = await runDen(["template", "copy", "t/vm.yaml", "out.yaml"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(await readFile(join(denHome, "out.yaml"), "utf8")).toBe(`base: ${join(denHome, "t", "common.yaml")}\n`);
});

test("den template copy refuses --verbatim with --embed", async () => {
  const run = await runDen(["template", "copy", "--verbatim", "--embed", "template:debian"], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain("Cannot combine --verbatim with --embed");
});

test.each([
  { expr: ".images[0].arch", want: "x86_64\n" },
  { expr: ".cpus > 0", want: "true\n" },
  { expr: ".mounts[0].writable", want: "false\n" },
  { expr: ".images | length > 4", want: "true\n" },
])("den template yq evaluates $expr on the filled template", async ({ expr, want }) => {
  const run = await runDen(["template", "yq", "template:debian", expr], { denHome: await makeDenHome() });
  expect(run.stderr).toBe("");
  expect(run.stdout).toBe(want);
});

test("den template yq prints maps as YAML", async () => {
  const run = await runDen(["template", "yq", "template:debian", ".images[0]"], { denHome: await makeDenHome() });
  expect(parse(run.stdout).arch).toBe("x86_64");
});

test("den template validate is den validate", async () => {
  const run = await runDen(["template", "validate", "template:debian"], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain('"template:debian": OK');
});

test.each([
  { name: "a built-in template stays template:NAME", locator: "template:docker", file: undefined, want: "template:docker" },
  { name: "a template file becomes its file URL", locator: "template:mine", file: "/t/my dir/mine.yaml", want: "file:///t/my%20dir/mine.yaml" },
  { name: "an https URL is printed as it is", locator: "https://example.com/t.yaml", file: undefined, want: "https://example.com/t.yaml" },
  { name: "a path is printed as written, as Lima does", locator: "./t.yaml", file: undefined, want: "./t.yaml" },
])("templateUrl(): $name", ({ locator, file, want }) => {
  expect(templateUrl(locator, parseLocator(locator, { cwd: "/w", home: "/h" }), file)).toBe(want);
});

test("den template url prints the file URL of a template in DEN_TEMPLATES_PATH", async () => {
  const denHome = await makeDenHome();
  await mkdir(join(denHome, "tpl"));
  await writeFile(join(denHome, "tpl", "mine.yaml"), "images: []\n");
  const run = await runDen(["template", "url", "template:mine"], { denHome, env: { DEN_TEMPLATES_PATH: join(denHome, "tpl") } });
  expect(run.stdout).toBe(`file://${join(denHome, "tpl", "mine.yaml")}\n`);
});

test("den template url refuses a template that does not exist", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["template", "url", "template:nope"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain('Cannot find template "nope"');
});

test("den template list -q prints the names only", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["template", "list", "-q"], { denHome });
  expect(run.stdout.split("\n")).toContain("docker");
  expect(run.stdout).not.toContain("LOCATION");
});
