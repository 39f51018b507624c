import { expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { builtinTemplates } from "../../../lib/config/builtin-templates.ts";
import { parseConfigText } from "../../../lib/config/parse.ts";

const templatesDir = join(import.meta.dir, "../../../templates");

test("builtinTemplates holds exactly the files under templates/", async () => {
  const files = (await readdir(templatesDir, { recursive: true })).filter((file) => file.endsWith(".yaml"));
  const names = files.map((file) => file.replaceAll("\\", "/").replace(/\.yaml$/, "")).sort();
  expect([...builtinTemplates.keys()].sort()).toEqual(names);
});

test.each([...builtinTemplates.keys()].map((name) => ({ name })))("builtin template $name matches its file", async ({ name }) => {
  expect(builtinTemplates.get(name)).toBe(await Bun.file(join(templatesDir, `${name}.yaml`)).text());
});

test.each([...builtinTemplates].map(([name, text]) => ({ name, text })))("builtin template $name is a YAML mapping", ({ text }) => {
  const { value } = parseConfigText(text);
  expect(typeof value).toBe("object");
  expect(Array.isArray(value)).toBe(false);
});

test("the default template is Ubuntu with the home folder mounted", () => {
  const { value } = parseConfigText(builtinTemplates.get("default")!);
  expect(value).toEqual({ base: ["template:_images/ubuntu-24.04", "template:_default/mounts"] });
});
