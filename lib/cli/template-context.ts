// The real-world side of reading templates for a command: files, stdin, network and DEN_HOME, bundled
// into the context lib/config's template functions take.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { builtinTemplates } from "../config/builtin-templates.ts";
import { limaArch } from "../config/host-info.ts";
import type { ListTemplatesContext } from "../config/list-templates.ts";
import type { TemplateContext } from "../config/load-template.ts";
import { BaseYaml } from "../store/filenames.ts";
import { configDir } from "../store/dirs.ts";
import type { CliContext } from "./context.ts";

export function templateContextFrom(ctx: CliContext): TemplateContext & ListTemplatesContext {
  const baseYaml = join(configDir(ctx.denHome), BaseYaml);
  return {
    env: { DEN_TEMPLATES_PATH: ctx.env.DEN_TEMPLATES_PATH },
    denHome: ctx.denHome,
    builtinTemplates,
    readStdin: ctx.readStdin,
    readFile: (path) => readFile(path, "utf8"),
    fetch: (url) => fetch(url, { redirect: "follow" }),
    hostArch: limaArch(process.arch),
    cwd: ctx.cwd,
    home: ctx.env.HOME || homedir(),
    baseYaml: existsSync(baseYaml) ? baseYaml : undefined,
    listYamlFiles: async (dir) => {
      try {
        const entries = await readdir(dir, { recursive: true, withFileTypes: true });
        return entries
          .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith(".yaml"))
          .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return [];
        throw error;
      }
    },
  };
}
