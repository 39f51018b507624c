import { expect, test } from "bun:test";
import { builtinTemplates } from "../../../lib/config/builtin-templates.ts";
import type { TemplateContext } from "../../../lib/config/load-template.ts";
import { validateTemplate } from "../../../lib/config/validate-template.ts";
import { ConfigError, DenError } from "../../../lib/errors.ts";
import { templateContext } from "./support/template-context.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

async function context(files: Record<string, string> = {}): Promise<TemplateContext> {
  return templateContext({ files, denHome: await makeTempDir("den-validate-"), builtinTemplates, readStdin: async () => "images: []\n" });
}

const complete = [...builtinTemplates.keys()].filter((name) => !name.startsWith("_default/")).map((name) => ({ name }));

test.each(complete)("validateTemplate() accepts the built-in template $name", async ({ name }) => {
  const result = await validateTemplate(`template:${name}`, await context(), { isDirectory: () => true });
  expect(result.config.images.length).toBeGreaterThan(0);
  expect(result.name).toBe(name.split("/").pop()!);
});

test("validateTemplate() reports a cross-field problem at its line in the file", async () => {
  const ctx = await context({ "/cwd/vm.yaml": "images:\n- location: /x.img\nmemory: 4XB\n" });
  const error = await validateTemplate("vm.yaml", ctx, { isDirectory: () => true }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).issues[0]).toMatchObject({ file: "/cwd/vm.yaml", line: 3, column: 9, path: ["memory"] });
});

test("validateTemplate() needs a name it can derive", async () => {
  const error = await validateTemplate("-", await context()).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DenError);
  expect((error as DenError).code).toBe("USAGE");
});
