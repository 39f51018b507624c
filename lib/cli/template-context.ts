// The real-world side of reading templates for a command: files, stdin, network and DEN_HOME, bundled
// into the context lib/config's template functions take.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { builtinTemplates } from "../config/builtin-templates.ts";
import { limaArch } from "../config/host-info.ts";
import type { ListTemplatesContext } from "../config/list-templates.ts";
import type { TemplateContext } from "../config/load-template.ts";
import { defaultFetchTimeoutMs, maxTemplateBytes, tooLargeTemplateHint } from "../config/read-locator.ts";
import { readRegularFileBounded } from "../fs/read-bounded.ts";
import { BaseYaml } from "../store/filenames.ts";
import { configDir } from "../store/dirs.ts";
import type { CliContext } from "./context.ts";
import { parseDuration } from "./duration.ts";

export function templateContextFrom(ctx: CliContext): TemplateContext & ListTemplatesContext {
  const baseYaml = join(configDir(ctx.denHome), BaseYaml);
  return {
    env: { DEN_TEMPLATES_PATH: ctx.env.DEN_TEMPLATES_PATH },
    denHome: ctx.denHome,
    builtinTemplates,
    readStdin: ctx.readStdin,
    readFile: (path) =>
      readRegularFileBounded(path, {
        maxBytes: maxTemplateBytes,
        what: `template "${path}"`,
        tooLargeCode: "TEMPLATE_TOO_LARGE",
        tooLargeHint: tooLargeTemplateHint,
      }),
    fetch: (url, init) => fetch(url, { redirect: "follow", signal: init.signal }),
    fetchTimeoutMs: ctx.env.DEN_FETCH_TIMEOUT ? parseDuration(ctx.env.DEN_FETCH_TIMEOUT, "DEN_FETCH_TIMEOUT") : defaultFetchTimeoutMs,
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
