import { expect, test } from "bun:test";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TemplateContext } from "../../../lib/config/load-template.ts";
import { ConfigError, DenError } from "../../../lib/errors.ts";
import { createFromTemplate } from "../../../lib/instance/create-from-template.ts";
import { templateContext } from "../config/support/template-context.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

async function context(): Promise<TemplateContext> {
  return templateContext({
    denHome: await makeTempDir("den-create-from-"),
    builtinTemplates: new Map([
      ["vm", "# my vm\nbase: template:_img\nparam:\n  size: small\n"],
      ["_img", "images:\n- location: /x.img\n"],
    ]),
    readStdin: async () => "images:\n- location: /y.img\n",
  });
}

test("createFromTemplate() embeds, applies the flags and writes den.yaml", async () => {
  const ctx = await context();
  const created = await createFromTemplate("template:vm", ctx, { flags: { cpus: "3", param: ["size=big"] } });
  expect(created).toEqual({
    name: "vm",
    dir: join(ctx.denHome, "vm"),
    warnings: [],
    included: [{ locator: "template:_img", kind: "base", namedIn: "template:vm" }],
    shares: [],
  });
  const yaml = await readFile(join(ctx.denHome, "vm", "den.yaml"), "utf8");
  expect(yaml).toContain("# my vm");
  expect(yaml).toContain("location: /x.img");
  expect(yaml).toMatch(/^cpus: 3$/m);
  expect(yaml).toMatch(/size: "?big"?/);
});

test("createFromTemplate() takes the name for stdin from the options", async () => {
  const ctx = await context();
  await expect(createFromTemplate("-", ctx)).rejects.toThrow(DenError);
  expect((await createFromTemplate("-", ctx, { name: "piped" })).name).toBe("piped");
});

test("createFromTemplate() writes nothing when the edited configuration is invalid", async () => {
  const ctx = await context();
  const error = await createFromTemplate("template:vm", ctx, { flags: { set: ['.memory = "lots"'] } }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).issues[0]?.file).toBe(join(ctx.denHome, "vm", "den.yaml"));
  expect(await readdir(ctx.denHome)).toEqual([]);
});

const remoteWithMounts = "images:\n- location: https://img.test/x.img\nmounts:\n- location: \"~\"\n- location: /tmp/lima\n  writable: true\n";

test.each([
  {
    name: "as the template writes them",
    flags: {},
    want: [
      { template: "https://t.test/vm.yaml", location: "~", writable: false },
      { template: "https://t.test/vm.yaml", location: "/tmp/lima", writable: true },
    ],
  },
  { name: "none after --mount-none", flags: { mountNone: true }, want: [] },
  {
    name: "writable after --mount-writable",
    flags: { mountWritable: true },
    want: [
      { template: "https://t.test/vm.yaml", location: "~", writable: true },
      { template: "https://t.test/vm.yaml", location: "/tmp/lima", writable: true },
    ],
  },
])("createFromTemplate() reports the folders a remote template shares, $name", async ({ flags, want }) => {
  const ctx = { ...(await context()), fetch: async () => new Response(remoteWithMounts) };
  const created = await createFromTemplate("https://t.test/vm.yaml", ctx, { flags, isDirectory: () => true });
  expect(created.shares).toEqual([...want]);
});

test.each([
  { template: "images:\n- location: /y.img\n", pinned: /^vmType: qemu$/m },
  { template: "vmType: qemu\nimages:\n- location: /y.img\n", pinned: /^vmType: qemu$/m },
])("createFromTemplate() writes the vmType it resolved into den.yaml, so the instance keeps it ($template)", async ({ template, pinned }) => {
  const ctx = await context();
  await createFromTemplate("-", { ...ctx, readStdin: async () => template }, { name: "pinned" });
  const yaml = await readFile(join(ctx.denHome, "pinned", "den.yaml"), "utf8");
  expect(yaml).toMatch(pinned);
  expect(yaml.match(/vmType/g)?.length).toBe(1);
});
