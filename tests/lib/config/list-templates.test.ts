import { expect, test } from "bun:test";
import { BuiltinLocation, listTemplates, type ListTemplatesContext } from "../../../lib/config/list-templates.ts";

function context(dirs: Record<string, string[]>, env: ListTemplatesContext["env"] = {}): ListTemplatesContext {
  return {
    env,
    denHome: "/h",
    builtinTemplates: new Map([
      ["docker", "x"],
      ["default", "x"],
      ["_images/ubuntu", "x"],
    ]),
    listYamlFiles: async (dir) => dirs[dir] ?? [],
  };
}

test.each([
  {
    name: "built-in templates only, hiding names that start with _",
    ctx: context({}),
    want: [
      { name: "default", location: BuiltinLocation },
      { name: "docker", location: BuiltinLocation },
    ],
  },
  {
    name: "a user template in DEN_HOME/_templates hides the built-in one",
    ctx: context({ "/h/_templates": ["docker.yaml", "mine/dev.yaml"] }),
    want: [
      { name: "default", location: BuiltinLocation },
      { name: "docker", location: "/h/_templates/docker.yaml" },
      { name: "mine/dev", location: "/h/_templates/mine/dev.yaml" },
    ],
  },
  {
    name: "DEN_TEMPLATES_PATH replaces DEN_HOME/_templates, first folder first",
    ctx: context({ "/a": ["x.yaml"], "/b": ["x.yaml", "y.yaml"], "/h/_templates": ["z.yaml"] }, { DEN_TEMPLATES_PATH: "/a:/b" }),
    want: [
      { name: "default", location: BuiltinLocation },
      { name: "docker", location: BuiltinLocation },
      { name: "x", location: "/a/x.yaml" },
      { name: "y", location: "/b/y.yaml" },
    ],
  },
])("listTemplates() lists $name", async ({ ctx, want }) => {
  expect(await listTemplates(ctx)).toEqual([...want]);
});

test("listTemplates() includes hidden names with all", async () => {
  const names = (await listTemplates(context({}), { all: true })).map((entry) => entry.name);
  expect(names).toEqual(["_images/ubuntu", "default", "docker"]);
});
