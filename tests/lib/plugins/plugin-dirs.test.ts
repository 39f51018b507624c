import { expect, test } from "bun:test";
import { pluginDirs } from "../../../lib/plugins/plugin-dirs.ts";
import { pluginEnv } from "../../../lib/plugins/plugin-env.ts";
import { renderPluginHelp } from "../../../lib/plugins/plugin-help.ts";

test.each<{ name: string; ctx: { path: string; selfPath: string; realSelfPath?: string }; want: string[] }>([
  {
    name: "den's folder first, then PATH, then PREFIX/libexec/den",
    ctx: { path: "/usr/bin:/bin", selfPath: "/opt/den/bin/den" },
    want: ["/opt/den/bin", "/usr/bin", "/bin", "/opt/den/libexec/den"],
  },
  {
    name: "the real file's folder after the link's, and its prefix for libexec",
    ctx: { path: "/usr/local/bin", selfPath: "/usr/local/bin/den", realSelfPath: "/opt/homebrew/Cellar/den/1/bin/den" },
    want: ["/usr/local/bin", "/opt/homebrew/Cellar/den/1/bin", "/opt/homebrew/Cellar/den/1/libexec/den"],
  },
  { name: "no PATH and empty entries", ctx: { path: "::", selfPath: "/src/den/main.ts" }, want: ["/src/den", "/src/libexec/den"] },
])("pluginDirs() puts $name", ({ ctx, want }) => {
  expect(pluginDirs(ctx)).toEqual(want);
});

test("pluginEnv() keeps den's environment and sets DEN_HOME and PATH", () => {
  const env = pluginEnv({ HOME: "/home/u", PATH: "/bin", LIMA_HOME: "/l", GONE: undefined }, { denHome: "/home/u/.den", dirs: ["/opt/den/bin", "/bin"] });
  expect(env).toEqual({ HOME: "/home/u", LIMA_HOME: "/l", DEN_HOME: "/home/u/.den", PATH: "/opt/den/bin:/bin" });
});

test.each([
  { plugins: [], want: "" },
  {
    plugins: [{ name: "hello", path: "/x/den-hello", description: "Say hello" }, { name: "longer-name", path: "/x/den-longer-name" }],
    want: "\nAvailable plugins (experimental):\n  hello        Say hello\n  longer-name",
  },
])("renderPluginHelp() renders $plugins.length plugins", ({ plugins, want }) => {
  expect(renderPluginHelp(plugins)).toBe(want);
});
