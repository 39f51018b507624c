import { expect, test } from "bun:test";
import { ConfigError } from "../../../lib/errors.ts";
import { loadTemplate, type TemplateContext } from "../../../lib/config/load-template.ts";
import { templateContext } from "./support/template-context.ts";

function context(files: Record<string, string> = {}, overrides: Partial<TemplateContext> = {}): TemplateContext {
  return templateContext({
    files,
    denHome: "/h",
    builtinTemplates: new Map([
      ["vm", "# a vm\nbase: template:_base/b\ncpus: 2\n"],
      ["_base/b", "memory: 2GiB\nparam:\n  color: red\n"],
    ]),
    readStdin: async () => "cpus: 1\n",
    ...overrides,
  });
}

test("loadTemplate() embeds the bases and collects their parameters", async () => {
  const template = await loadTemplate("template:vm", context());
  expect(template.embeddedText).toContain("cpus: 2");
  expect(template.embeddedText).toContain("memory: 2GiB");
  expect(template.embeddedText).not.toContain("base:");
  expect(template.params).toEqual(["color"]);
  expect(template.suggestedName).toBe("vm");
  expect(template.located.file).toBe("template:vm (with its bases embedded)");
});

test("loadTemplate() merges DEN_HOME/_config/base.yaml only when asked", async () => {
  const ctx = context({ "/h/_config/base.yaml": "disk: 9GiB\n" }, { baseYaml: "/h/_config/base.yaml" });
  expect((await loadTemplate("/t/x.yaml", { ...ctx, readFile: async () => "cpus: 3\n" })).embeddedText).not.toContain("disk");
  const files = { "/t/x.yaml": "cpus: 3\n", "/h/_config/base.yaml": "disk: 9GiB\n" };
  const withBase = await loadTemplate("/t/x.yaml", { ...context(files), baseYaml: "/h/_config/base.yaml" }, { withBaseYaml: true });
  expect(withBase.embeddedText).toContain("disk: 9GiB");
});

test("loadTemplate() locates problems in the user's own file", async () => {
  const ctx = context({ "/cwd/bad.yaml": "cpus: 2\nmemroy: 4GiB\n" });
  const error = await loadTemplate("bad.yaml", ctx).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).issues[0]).toMatchObject({ file: "/cwd/bad.yaml", line: 2, column: 1 });
});

test("loadTemplate() keeps the source text for messages when nothing was embedded", async () => {
  const template = await loadTemplate("-", context());
  expect(template.located).toMatchObject({ text: "cpus: 1\n", file: "<stdin>", layer: { file: "<stdin>", config: { cpus: 1 } } });
  expect(template.suggestedName).toBeUndefined();
});

test("loadTemplate() hands on the layer it checked, so a template is parsed once when embedding changes nothing", async () => {
  const template = await loadTemplate("/cwd/t.yaml", context({ "/cwd/t.yaml": "# mine\ncpus: 3\n" }));
  expect(template.located).toMatchObject({ text: "# mine\ncpus: 3\n", file: "/cwd/t.yaml", layer: { file: "/cwd/t.yaml", config: { cpus: 3 } } });
  // The layer is the source's own parse: its positions are the user's lines.
  expect(template.located.layer.parsed.lineCounter.linePos(7)).toEqual({ line: 2, col: 1 });
});

test("loadTemplate() checks the embedded text on its own when embedding changed a value", async () => {
  const template = await loadTemplate("template:vm", context());
  expect(template.located.layer).toMatchObject({ file: "template:vm (with its bases embedded)", config: { cpus: 2, memory: "2GiB" } });
});
